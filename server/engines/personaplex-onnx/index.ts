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

export async function createEngine(options: Partial<PersonaPlexOnnxOptions> | undefined): Promise<DuplexEngine> {
  const opts = options?.modelDir ? (options as PersonaPlexOnnxOptions) : { ...optionsFromEnv(), ...options };
  return PersonaPlexOnnxEngine.create(opts);
}
