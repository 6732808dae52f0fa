/**
 * The personaplex-onnx engine folder's entry: configFromEnv(env) (config.ts, on the main thread) and
 * start(config, log), as every engine folder exports them; createEngine(options, log) loads a mobius PersonaPlex
 * export inside the WorkerPoolEngine worker (see docs/personaplex-onnx.md).
 */
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../log.ts';
import type { DuplexEngine } from '../contract.ts';
import { WorkerPoolEngine } from '../worker/pool.ts';
import type { PersonaPlexOnnxConfig } from './config.ts';
import { PersonaPlexOnnxEngine, type PersonaPlexOnnxOptions } from './engine.ts';

export { PersonaPlexOnnxEngine, type PersonaPlexOnnxOptions };
export { configFromEnv, PROVIDERS, type PersonaPlexOnnxConfig } from './config.ts';

/** Loading progress as log records, at most one a second per phase (functions cannot cross into the worker). */
export function progressLog(log: Logger): NonNullable<PersonaPlexOnnxOptions['onLoadProgress']> {
  let last = 0;
  let lastPhase = '';
  return (p) => {
    const now = Date.now();
    if (p.phase === lastPhase && p.fraction < 1 && now - last < 1000) return;
    last = now;
    lastPhase = p.phase;
    log.info({ phase: p.phase, percent: Math.round(100 * p.fraction), ...(p.detail ? { detail: p.detail } : {}) }, 'loading');
  };
}

/** Runs in the engine worker: `options` is the validated configuration (plain data), `log` the relayed logger. */
export function createEngine(options: PersonaPlexOnnxOptions, log?: Logger): Promise<DuplexEngine> {
  if (!options?.modelDir) throw new Error('personaplex-onnx: options.modelDir is required (configFromEnv builds it from PARLEY_PERSONAPLEX_ONNX_DIR)');
  return PersonaPlexOnnxEngine.create({ ...(log ? { onLoadProgress: progressLog(log), log } : {}), ...options });
}

/** One worker holds the model and batches every session. */
export function start(config: PersonaPlexOnnxConfig, log: Logger): Promise<DuplexEngine> {
  return WorkerPoolEngine.start({
    module: fileURLToPath(import.meta.url),
    options: config,
    workers: 1,
    initTimeoutMs: 30 * 60_000, // tens of GB of weights
    openTimeoutMs: 600_000,
    stepTimeoutMs: 1000,
    log,
  });
}
