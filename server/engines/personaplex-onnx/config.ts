/**
 * The personaplex-onnx engine's configuration, validated once on the main thread and passed to its worker as
 * plain data (the worker reads no environment):
 *   PARLEY_PERSONAPLEX_ONNX_DIR        the folder of the mobius PersonaPlex export (required)
 *   PARLEY_PERSONAPLEX_ONNX_PROVIDERS  execution providers in order of preference (default cpu)
 *   PARLEY_PERSONAPLEX_ONNX_CAPACITY   sessions stepped at once (default 2 on cpu, 32 on a GPU)
 *   PARLEY_PERSONAPLEX_ONNX_VOICES     a folder of extra voice prompts
 */
import { ConfigError, intFromEnv } from '../../env-rules.ts';
import type { PersonaPlexOnnxOptions } from './engine.ts';
import type { Provider } from './graphs.ts';

export const PROVIDERS: readonly Provider[] = ['cpu', 'cuda', 'webgpu', 'tensorrt'];

/** The options a server start takes from the environment; plain data (it is cloned into the worker). */
export type PersonaPlexOnnxConfig = Pick<PersonaPlexOnnxOptions, 'modelDir' | 'providers' | 'capacity' | 'voicesDir'>;

export function configFromEnv(env: NodeJS.ProcessEnv): PersonaPlexOnnxConfig {
  const modelDir = env.PARLEY_PERSONAPLEX_ONNX_DIR;
  if (!modelDir) throw new ConfigError('PARLEY_PERSONAPLEX_ONNX_DIR must name the folder of the mobius PersonaPlex export');
  const providers = (env.PARLEY_PERSONAPLEX_ONNX_PROVIDERS || 'cpu').split(',').map((p) => p.trim()).filter(Boolean);
  for (const p of providers) {
    if (!PROVIDERS.includes(p as Provider)) throw new ConfigError(`PARLEY_PERSONAPLEX_ONNX_PROVIDERS: unknown execution provider '${p}' (use ${PROVIDERS.join(', ')})`);
  }
  const capacity = intFromEnv(env, 'PARLEY_PERSONAPLEX_ONNX_CAPACITY', undefined, 1, 1024);
  return { modelDir, providers: providers as Provider[], ...(capacity !== undefined ? { capacity } : {}), ...(env.PARLEY_PERSONAPLEX_ONNX_VOICES ? { voicesDir: env.PARLEY_PERSONAPLEX_ONNX_VOICES } : {}) };
}
