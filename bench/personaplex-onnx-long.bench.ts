/**
 * A 30-minute PersonaPlex session (22,500 frames at 12.5 Hz) on the tiny stand-in bundle, engine only (no
 * server, no worker): the sliding 3000-frame context must keep memory flat and the step time level once the
 * window is full. Figures: resident and heap memory at 5 minutes and at the end, step time in the first and
 * last 1,000 frames after the window filled. PARLEY_LONG_FRAMES shortens the run.
 *
 * The tiny bundle computes RoPE from position_ids, so this does not exercise the rotary-table extension
 * (tests/personaplex-onnx/reference/ does, against NVIDIA's code).
 */
import { PersonaPlexOnnxEngine } from '../server/engines/personaplex-onnx/engine.ts';
import { persona, tempBundle, userFrame } from '../tests/personaplex-onnx/helpers.ts';

const MB = 2 ** 20;

export default async function longSession(): Promise<Record<string, number>> {
  const frames = Number(process.env.PARLEY_LONG_FRAMES ?? 22_500);
  const bundle = await tempBundle();
  const e = await PersonaPlexOnnxEngine.create({ modelDir: bundle.dir, intraOpNumThreads: 1, contextFrames: 3000, maxPositions: frames + 1000 });
  try {
    const id = await e.open(persona());
    const at5min = 3750;
    let rss5 = 0;
    let heap5 = 0;
    let early = 0;
    let late = 0;
    const t0 = Date.now();
    let mark = performance.now();
    for (let i = 0; i < frames; i++) {
      const [out] = await e.step([{ session: id, input: userFrame(i) }]);
      if (out!.error) throw new Error(`frame ${i}: ${out!.error.message}`);
      if (i === 3000) mark = performance.now();
      if (i === 4000) early = (performance.now() - mark) / 1000;
      if (i === frames - 1000) mark = performance.now();
      if (i === at5min) {
        globalThis.gc?.();
        rss5 = process.memoryUsage().rss / MB;
        heap5 = process.memoryUsage().heapUsed / MB;
      }
      if (i % 2500 === 0) process.stderr.write(`  frame ${i} (${((Date.now() - t0) / 1000).toFixed(0)} s, rss ${(process.memoryUsage().rss / MB).toFixed(0)} MB)\n`);
    }
    late = (performance.now() - mark) / 1000;
    globalThis.gc?.();
    const { rss, heapUsed } = process.memoryUsage();
    return {
      'personaplex-onnx long session frames': frames,
      'personaplex-onnx long session rss at 5 min MB': rss5,
      'personaplex-onnx long session rss at end MB': rss / MB,
      'personaplex-onnx long session heap at 5 min MB': heap5,
      'personaplex-onnx long session heap at end MB': heapUsed / MB,
      'personaplex-onnx long session step ms (frames 3000-4000)': early,
      'personaplex-onnx long session step ms (last 1000 frames)': late,
    };
  } finally {
    await e.dispose();
    await bundle.cleanup();
  }
}
