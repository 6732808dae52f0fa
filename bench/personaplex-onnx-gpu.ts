/**
 * Tick time against concurrent sessions for the personaplex-onnx engine, on a real mobius export (GPU host) or
 * on the tiny stand-in bundle. One engine in this thread (no worker hop, so the figure is the engine's own):
 * for each concurrency N it opens N sessions (one fresh prompt phase, then persona snapshots), warms up, and
 * times `frames` batched steps of N live sessions fed a changing tone as the user's voice.
 *
 *   npx tsx bench/personaplex-onnx-gpu.ts --model-dir /models/personaplex-onnx --providers cuda \
 *       --sessions 1,2,4,8,16,32 --frames 100 [--voice NATF0] [--json out.json]
 *   npx tsx bench/personaplex-onnx-gpu.ts --tiny     # the tiny bundle on this machine's CPU
 *
 * Prints one line per N: mean / p50 / p90 / max step ms and how many steps overran the 80 ms tick.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PersonaPlexOnnxEngine, type PersonaPlexOnnxOptions } from '../server/engines/personaplex-onnx/engine.ts';
import type { Persona } from '../server/engines/contract.ts';
import { isBuiltinVoice } from '../server/persona/persona.ts';
import { FRAME_SAMPLES } from '../protocol/frame.ts';
import { createLogger } from '../server/log.ts';

export interface TickFigures {
  sessions: number;
  mean_ms: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  over_80ms: number;
  open_first_ms: number;
}

export async function measureTicks(opts: PersonaPlexOnnxOptions, sessions: number[], frames: number, voice: Persona['voice'], progress: (l: string) => unknown = (l) => process.stderr.write(l + '\n')): Promise<TickFigures[]> {
  const engine = await PersonaPlexOnnxEngine.create({ log: createLogger({ destination: process.stderr }), ...opts, capacity: Math.max(...sessions) });
  const out: TickFigures[] = [];
  try {
    const persona: Persona = { id: 'bench', name: 'Bench', textPrompt: 'You enjoy having a good conversation.', voice, seed: 1 };
    let t0 = performance.now();
    const first = await engine.open(persona);
    const openFirst = performance.now() - t0;
    await engine.close(first);
    for (const n of sessions) {
      const ids: number[] = [];
      for (let i = 0; i < n; i++) ids.push(await engine.open({ ...persona, seed: i + 1 }));
      const frame = (t: number, k: number) => Float32Array.from({ length: FRAME_SAMPLES }, (_, j) => 0.2 * Math.sin((t * FRAME_SAMPLES + j) * (0.02 + 0.001 * k)));
      for (let w = 0; w < 3; w++) await engine.step(ids.map((session, k) => ({ session, input: frame(w, k) })));
      const times: number[] = [];
      for (let t = 0; t < frames; t++) {
        const batch = ids.map((session, k) => ({ session, input: frame(t + 3, k) }));
        t0 = performance.now();
        const r = await engine.step(batch);
        times.push(performance.now() - t0);
        const err = r.find((o) => o.error);
        if (err) throw new Error(err.error!.message);
      }
      for (const id of ids) await engine.close(id);
      const sorted = [...times].sort((a, b) => a - b);
      const fig: TickFigures = {
        sessions: n,
        mean_ms: times.reduce((a, b) => a + b, 0) / times.length,
        p50_ms: sorted[Math.floor(0.5 * (sorted.length - 1))]!,
        p90_ms: sorted[Math.floor(0.9 * (sorted.length - 1))]!,
        p99_ms: sorted[Math.floor(0.99 * (sorted.length - 1))]!,
        max_ms: sorted.at(-1)!,
        over_80ms: times.filter((x) => x > 80).length,
        open_first_ms: openFirst,
      };
      progress(`  ${n} sessions: mean ${fig.mean_ms.toFixed(1)} ms, p50 ${fig.p50_ms.toFixed(1)}, p90 ${fig.p90_ms.toFixed(1)}, max ${fig.max_ms.toFixed(1)}, ${fig.over_80ms}/${frames} over 80 ms`);
      out.push(fig);
    }
  } finally {
    await engine.dispose();
  }
  return out;
}

/** A tiny bundle with a WAV voice in a temp folder (for --tiny and the CPU bench). */
export async function tinyModelDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const { writeTinyBundle } = await import('../tests/personaplex-onnx/tiny-bundle.ts');
  const { wav16, voiceClip } = await import('../tests/personaplex-onnx/helpers.ts');
  const { mkdir } = await import('node:fs/promises');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pp-onnx-bench-'));
  await writeTinyBundle(dir);
  await mkdir(path.join(dir, 'voices'));
  await writeFile(path.join(dir, 'voices', 'NATF0.wav'), wav16(voiceClip(1, 180)));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main() {
  const tiny = process.argv.includes('--tiny');
  const sessions = (arg('sessions') ?? (tiny ? '1,2,4,8,16' : '1,2,4,8,16,32')).split(',').map(Number);
  const frames = Number(arg('frames') ?? (tiny ? 20 : 100));
  const voiceArg = arg('voice') ?? 'NATF0';
  const voice: Persona['voice'] = isBuiltinVoice(voiceArg) ? { kind: 'builtin', id: voiceArg } : { kind: 'wav', path: voiceArg };
  let cleanup = async () => undefined as void;
  let modelDir = arg('model-dir');
  if (tiny) ({ dir: modelDir, cleanup } = await tinyModelDir());
  if (!modelDir) throw new Error('--model-dir <mobius export folder> (or --tiny)');
  const providers = (arg('providers') ?? 'cpu').split(',') as PersonaPlexOnnxOptions['providers'];
  try {
    const figures = await measureTicks({ modelDir, providers, voicesDir: arg('voices-dir') }, sessions, frames, voice);
    const json = arg('json');
    if (json) await writeFile(json, JSON.stringify({ modelDir, providers, frames, figures }, null, 2) + '\n');
    console.log(JSON.stringify(figures, null, 2));
  } finally {
    await cleanup();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
