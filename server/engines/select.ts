/**
 * Builds the configured engine. Each engine is loaded only when chosen, so a server on the CPU default never
 * loads onnxruntime's graphs or opens sockets to a GPU host.
 */
import type { EngineName, ServerConfig } from '../config.ts';
import { fileURLToPath } from 'node:url';
import type { DuplexEngine } from './contract.ts';
import { WorkerPoolEngine } from './worker/pool.ts';
import { personaplexServerOptions } from './personaplex-server-config.ts';

export async function startEngine(config: ServerConfig, log: (line: string) => void): Promise<DuplexEngine> {
  const name: EngineName = config.engine;
  switch (name) {
    case 'rehearsal': {
      const { startRehearsalEngine } = await import('./rehearsal/index.ts');
      const workers = config.env.PARLEY_REHEARSAL_WORKERS ? Number(config.env.PARLEY_REHEARSAL_WORKERS) : undefined;
      return startRehearsalEngine({ workers, log });
    }
    case 'personaplex-server': {
      // Network I/O stays on this thread (async); Opus/Ogg run in the engine's own codec workers.
      const { PersonaPlexServerEngine } = await import('./personaplex-server/index.ts');
      return PersonaPlexServerEngine.start({ ...personaplexServerOptions(config.env), log });
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
