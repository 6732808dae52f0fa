/**
 * Builds the configured engine. Each engine is loaded only when chosen, so a server on the CPU default never
 * loads onnxruntime's graphs or opens sockets to a GPU host.
 */
import type { EngineName, ServerConfig } from '../config.ts';
import { fileURLToPath } from 'node:url';
import type { DuplexEngine } from './contract.ts';
import { WorkerPoolEngine } from './worker/pool.ts';

/** What an optional engine module exports for the server to start it from the environment. */
interface EngineModule {
  configFromEnv(env: NodeJS.ProcessEnv): unknown;
  startEngine(config: unknown, log: (line: string) => void): Promise<DuplexEngine>;
}

async function load(folder: string): Promise<EngineModule> {
  return (await import(new URL(`./${folder}/index.ts`, import.meta.url).href)) as EngineModule;
}

export async function startEngine(config: ServerConfig, log: (line: string) => void): Promise<DuplexEngine> {
  const name: EngineName = config.engine;
  switch (name) {
    case 'rehearsal': {
      const { startRehearsalEngine } = await import('./rehearsal/index.ts');
      const workers = config.env.PARLEY_REHEARSAL_WORKERS ? Number(config.env.PARLEY_REHEARSAL_WORKERS) : undefined;
      return startRehearsalEngine({ workers, log });
    }
    case 'personaplex-server': {
      const mod = await load('personaplex-server');
      return mod.startEngine(mod.configFromEnv(config.env), log);
    }
    case 'personaplex-onnx': {
      // One worker holds the model and batches every session; it reads PARLEY_PERSONAPLEX_ONNX_* itself.
      return WorkerPoolEngine.start({
        module: fileURLToPath(new URL('./personaplex-onnx/index.ts', import.meta.url)),
        options: {},
        workers: 1,
        initTimeoutMs: 30 * 60_000, // tens of GB of weights
        openTimeoutMs: 600_000,
        stepTimeoutMs: 1000,
        log,
      });
    }
  }
}
