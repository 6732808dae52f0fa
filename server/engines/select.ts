/**
 * Builds the configured engine. Each engine is loaded only when chosen, so a server on the CPU default never
 * loads onnxruntime's graphs or opens sockets to a GPU host.
 */
import type { EngineName, ServerConfig } from '../config.ts';
import type { DuplexEngine } from './contract.ts';

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
      const mod = await load('personaplex-onnx');
      return mod.startEngine(mod.configFromEnv(config.env), log);
    }
  }
}
