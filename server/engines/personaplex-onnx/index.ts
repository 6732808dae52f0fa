/**
 * Engine module for WorkerPoolEngine: `createEngine(options)` loads a mobius PersonaPlex export into this
 * worker thread. Options come from the server configuration (see docs/personaplex-onnx.md), e.g.
 * `{ modelDir: '/models/personaplex-onnx', providers: ['webgpu', 'cuda'] }`.
 */
import type { DuplexEngine } from '../contract.ts';
import { PersonaPlexOnnxEngine, type PersonaPlexOnnxOptions } from './engine.ts';
import type { Provider } from './graphs.ts';

export { PersonaPlexOnnxEngine, type PersonaPlexOnnxOptions };

const PROVIDERS: Provider[] = ['cpu', 'cuda', 'webgpu', 'tensorrt'];

/** Options from environment variables: PARLEY_PERSONAPLEX_ONNX_DIR, PARLEY_PERSONAPLEX_ONNX_PROVIDERS (comma list). */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): PersonaPlexOnnxOptions {
  const modelDir = env.PARLEY_PERSONAPLEX_ONNX_DIR;
  if (!modelDir) throw new Error('PARLEY_PERSONAPLEX_ONNX_DIR must name the folder of the mobius PersonaPlex export');
  const providers = (env.PARLEY_PERSONAPLEX_ONNX_PROVIDERS ?? 'cpu').split(',').map((p) => p.trim()).filter(Boolean);
  for (const p of providers) if (!PROVIDERS.includes(p as Provider)) throw new Error(`unknown execution provider '${p}' (use ${PROVIDERS.join(', ')})`);
  const capacity = env.PARLEY_PERSONAPLEX_ONNX_CAPACITY ? Number(env.PARLEY_PERSONAPLEX_ONNX_CAPACITY) : undefined;
  return { modelDir, providers: providers as Provider[], capacity, voicesDir: env.PARLEY_PERSONAPLEX_ONNX_VOICES || undefined };
}

/**
 * A throttled text progress bar on stderr, for loading inside a worker thread (functions cannot cross the
 * worker boundary, so the host cannot pass its own callback).
 */
export function stderrProgress(): NonNullable<PersonaPlexOnnxOptions['onLoadProgress']> {
  let last = 0;
  let lastPhase = '';
  return (p) => {
    const now = Date.now();
    if (p.phase === lastPhase && p.fraction < 1 && now - last < 1000) return;
    last = now;
    lastPhase = p.phase;
    const width = 30;
    const done = Math.round(p.fraction * width);
    process.stderr.write(`[personaplex-onnx] ${p.phase.padEnd(15)} [${'#'.repeat(done)}${'.'.repeat(width - done)}] ${(100 * p.fraction).toFixed(0).padStart(3)}% ${p.detail ?? ''}\n`);
  };
}

export async function createEngine(options: Partial<PersonaPlexOnnxOptions> | undefined): Promise<DuplexEngine> {
  const opts = options?.modelDir ? (options as PersonaPlexOnnxOptions) : { ...optionsFromEnv(), ...options };
  return PersonaPlexOnnxEngine.create({ onLoadProgress: stderrProgress(), ...opts });
}
