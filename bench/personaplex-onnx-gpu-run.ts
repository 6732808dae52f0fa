/**
 * One command for the first GPU machine (issue 17 item 7): builds a full-size random-weight PersonaPlex
 * bundle with the mobius I/O (fp16 LM: 32 layers, hidden 4096, SwiGLU 11264, 32 heads × 128, vocabularies
 * 32,000/2,048; depformer 6 layers × 1024 with per-substep weights; weights in external data; speed does not
 * depend on weight values), then for each provider steps 1–64 sessions and writes tick p50/p99 and the
 * largest session count that stays in real time (p99 ≤ 80 ms) to bench/results/.
 *
 *   npx tsx bench/personaplex-onnx-gpu-run.ts --out /models/pp-random --providers cuda,webgpu
 *   npx tsx bench/personaplex-onnx-gpu-run.ts --scale small --providers cpu --sessions 1,2,4 --frames 5   # the check run here
 *
 * Options: --out DIR (bundle folder, reused when it holds one; default $TMPDIR/pp-random-<scale>), --scale
 * full|small, --providers LIST, --sessions LIST (default 1,2,4,8,16,32,48,64), --frames N (default 100),
 * --results FILE (default bench/results/personaplex-onnx-gpu-<scale>-<time>.json).
 *
 * Not representative: the Mimi graphs are the tiny stand-in's (a projection, not SEANet), so a real export's
 * Mimi cost is not in these figures; the tick is the LM (temporal + 8 depformer runs) plus the host work.
 */
import { access, mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeTinyBundle, type TinyBundleOptions } from '../tests/personaplex-onnx/tiny-bundle.ts';
import { wav16, voiceClip } from '../tests/personaplex-onnx/helpers.ts';
import { measureTicks, type TickFigures } from './personaplex-onnx-gpu.ts';
import type { Provider } from '../server/engines/personaplex-onnx/graphs.ts';
import { PersonaPlexOnnxEngine } from '../server/engines/personaplex-onnx/engine.ts';

export const SCALES: Record<'full' | 'small', TinyBundleOptions> = {
  full: { hidden: 4096, layers: 32, heads: 32, ffn: 11264, depHidden: 1024, depLayers: 6, depHeads: 16 },
  small: { hidden: 256, layers: 4, heads: 2, ffn: 704, depHidden: 128, depLayers: 2, depHeads: 2 },
};

const TICK_MS = 80;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function exists(f: string) {
  return access(f).then(
    () => true,
    () => false,
  );
}

export async function ensureBundle(dir: string, scale: 'full' | 'small', log: (l: string) => void) {
  if (await exists(path.join(dir, 'temporal', 'model.onnx'))) {
    log(`reusing the bundle in ${dir}`);
    return;
  }
  const t0 = Date.now();
  log(`writing a ${scale} random-weight fp16 bundle to ${dir} …`);
  await writeTinyBundle(dir, { ...SCALES[scale], dtype: 'float16', externalData: true, tileWeights: true, seed: 17 });
  await mkdir(path.join(dir, 'voices'), { recursive: true });
  await writeFile(path.join(dir, 'voices', 'NATF0.wav'), wav16(voiceClip(2, 180)));
  log(`  written in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

export interface ProviderResult {
  requested: Provider;
  used: Provider;
  figures: TickFigures[];
  /** most sessions with p99 ≤ 80 ms (0 if none) */
  sessions_in_real_time: number;
}

export async function runAll(o: { dir: string; providers: Provider[]; sessions: number[]; frames: number; log: (l: string) => boolean | void }): Promise<ProviderResult[]> {
  const out: ProviderResult[] = [];
  for (const provider of o.providers) {
    // Which provider the engine actually ends on (a failed GPU provider falls back to the CPU).
    const probe = await PersonaPlexOnnxEngine.create({ modelDir: o.dir, providers: [provider], prefetch: false });
    const used = probe.provider;
    await probe.dispose();
    if (used !== provider) o.log(`provider ${provider} did not load; measuring on ${used} (labelled as such)`);
    o.log(`${provider} → ${used}:`);
    const figures = await measureTicks({ modelDir: o.dir, providers: [provider] }, o.sessions, o.frames, { kind: 'builtin', id: 'NATF0' }, o.log);
    const ok = figures.filter((f) => f.p99_ms <= TICK_MS).map((f) => f.sessions);
    out.push({ requested: provider, used, figures, sessions_in_real_time: ok.length ? Math.max(...ok) : 0 });
  }
  return out;
}

async function main() {
  const scale = (arg('scale') ?? 'full') as 'full' | 'small';
  if (!(scale in SCALES)) throw new Error('--scale full|small');
  const dir = arg('out') ?? path.join(os.tmpdir(), `pp-random-${scale}`);
  const providers = (arg('providers') ?? 'cuda,webgpu').split(',') as Provider[];
  const sessions = (arg('sessions') ?? '1,2,4,8,16,32,48,64').split(',').map(Number);
  const frames = Number(arg('frames') ?? 100);
  const log = (l: string) => process.stderr.write(`${l}\n`);
  await ensureBundle(dir, scale, log);
  const results = await runAll({ dir, providers, sessions, frames, log });
  const here = path.dirname(fileURLToPath(import.meta.url));
  const file = arg('results') ?? path.join(here, 'results', `personaplex-onnx-gpu-${scale}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await mkdir(path.dirname(file), { recursive: true });
  const record = { scale, bundle: { ...SCALES[scale], dtype: 'float16' }, frames, host: os.hostname(), cpus: os.cpus()[0]?.model, results };
  await writeFile(file, JSON.stringify(record, null, 2) + '\n');
  for (const r of results) {
    console.log(`${r.requested}${r.used !== r.requested ? ` (fell back to ${r.used})` : ''}: real time up to ${r.sessions_in_real_time} sessions`);
    for (const f of r.figures) console.log(`  ${String(f.sessions).padStart(3)} sessions: p50 ${f.p50_ms.toFixed(1)} ms, p99 ${f.p99_ms.toFixed(1)} ms, ${f.over_80ms}/${frames} over 80 ms`);
  }
  console.log(`wrote ${file}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
