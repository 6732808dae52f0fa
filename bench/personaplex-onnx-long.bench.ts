/**
 * A 30-minute PersonaPlex session (22,500 frames at 12.5 Hz) on the tiny stand-in bundle, engine only (no
 * server, no worker): the sliding 3000-frame context must keep memory flat and the step time level once the
 * window is full. Figures: resident and heap memory at 5 minutes and at the end, step time in the first and
 * last 1,000 frames after the window filled, and the same split into this process's CPU time per step and the
 * machine's load: a wall time that rises while the CPU time per step stays level is other processes' load, not
 * the engine. Every 1,000 frames a line goes to stderr (wall and CPU ms per step, load average, RSS, batch
 * length). PARLEY_LONG_FRAMES shortens the run.
 *
 * The tiny bundle computes RoPE from position_ids (no tables), so it never re-bases; re-basing is proven against
 * NVIDIA's code in tests/personaplex-onnx/reference/ (parity.test.ts, window.test.ts).
 */
import os from 'node:os';
import { PersonaPlexOnnxEngine } from '../server/engines/personaplex-onnx/engine.ts';
import { persona, tempBundle, userFrame } from '../tests/personaplex-onnx/helpers.ts';

const MB = 2 ** 20;
const SEGMENT = 1000;

export default async function longSession(): Promise<Record<string, number>> {
  const frames = Number(process.env.PARLEY_LONG_FRAMES ?? 22_500);
  const bundle = await tempBundle();
  const e = await PersonaPlexOnnxEngine.create({ modelDir: bundle.dir, intraOpNumThreads: 1, contextFrames: 3000 });
  try {
    const id = await e.open(persona());
    const at5min = 3750;
    let rss5 = 0;
    let heap5 = 0;
    const segments: { from: number; wall: number; cpu: number; load: number }[] = [];
    const t0 = Date.now();
    let mark = performance.now();
    let cpuMark = process.cpuUsage();
    for (let i = 0; i < frames; i++) {
      const [out] = await e.step([{ session: id, input: userFrame(i) }]);
      if (out!.error) throw new Error(`frame ${i}: ${out!.error.message}`);
      if ((i + 1) % SEGMENT === 0) {
        const now = performance.now();
        const cpu = process.cpuUsage(cpuMark);
        const seg = { from: i + 1 - SEGMENT, wall: (now - mark) / SEGMENT, cpu: (cpu.user + cpu.system) / 1000 / SEGMENT, load: os.loadavg()[0]! };
        segments.push(seg);
        const batch = (e as unknown as { batch: { P: number } }).batch;
        process.stderr.write(
          `  frames ${seg.from}-${i}: ${seg.wall.toFixed(1)} ms/step wall, ${seg.cpu.toFixed(1)} ms CPU, load ${seg.load.toFixed(1)}, rss ${(process.memoryUsage().rss / MB).toFixed(0)} MB, batch length ${batch.P} (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`,
        );
        mark = performance.now();
        cpuMark = process.cpuUsage();
      }
      if (i === at5min) {
        globalThis.gc?.();
        rss5 = process.memoryUsage().rss / MB;
        heap5 = process.memoryUsage().heapUsed / MB;
      }
    }
    globalThis.gc?.();
    const { rss, heapUsed } = process.memoryUsage();
    const early = segments.find((s) => s.from === 3000) ?? segments[0]!;
    const late = segments.at(-1)!;
    return {
      'personaplex-onnx long session frames': frames,
      'personaplex-onnx long session rss at 5 min MB': rss5,
      'personaplex-onnx long session rss at end MB': rss / MB,
      'personaplex-onnx long session heap at 5 min MB': heap5,
      'personaplex-onnx long session heap at end MB': heapUsed / MB,
      'personaplex-onnx long session step ms (frames 3000-4000)': early.wall,
      'personaplex-onnx long session step ms (last 1000 frames)': late.wall,
      'personaplex-onnx long session CPU ms per step (frames 3000-4000)': early.cpu,
      'personaplex-onnx long session CPU ms per step (last 1000 frames)': late.cpu,
      'personaplex-onnx long session load average (frames 3000-4000)': early.load,
      'personaplex-onnx long session load average (last 1000 frames)': late.load,
    };
  } finally {
    await e.dispose();
    await bundle.cleanup();
  }
}
