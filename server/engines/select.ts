/**
 * The configured engine: each engine folder exports configFromEnv(env) (a light module, validated on the main
 * thread when the server's configuration loads) and start(config, log); this dispatches on the engine's name.
 * Each engine's code is loaded only when chosen, so a server on the CPU default never loads onnxruntime's graphs
 * or opens sockets to a GPU host.
 */
import type { Logger } from '../log.ts';
import type { DuplexEngine } from './contract.ts';
import { configFromEnv as rehearsalConfig, type RehearsalConfig } from './rehearsal/config.ts';
import { configFromEnv as personaplexServerConfig, type PersonaPlexServerConfig } from './personaplex-server/config.ts';
import { configFromEnv as personaplexOnnxConfig, type PersonaPlexOnnxConfig } from './personaplex-onnx/config.ts';

export const ENGINES = ['rehearsal', 'personaplex-server', 'personaplex-onnx'] as const;
export type EngineName = (typeof ENGINES)[number];

/** Which engine, with its validated configuration. */
export type EngineConfig =
  | { name: 'rehearsal'; config: RehearsalConfig }
  | { name: 'personaplex-server'; config: PersonaPlexServerConfig }
  | { name: 'personaplex-onnx'; config: PersonaPlexOnnxConfig };

export function engineConfigFromEnv(name: EngineName, env: NodeJS.ProcessEnv): EngineConfig {
  switch (name) {
    case 'rehearsal':
      return { name, config: rehearsalConfig(env) };
    case 'personaplex-server':
      return { name, config: personaplexServerConfig(env) };
    case 'personaplex-onnx':
      return { name, config: personaplexOnnxConfig(env) };
  }
}

export async function startEngine(engine: EngineConfig, log: Logger): Promise<DuplexEngine> {
  const child = log.child({ engine: engine.name });
  switch (engine.name) {
    case 'rehearsal':
      return (await import('./rehearsal/index.ts')).start(engine.config, child);
    case 'personaplex-server':
      return (await import('./personaplex-server/index.ts')).start(engine.config, child);
    case 'personaplex-onnx':
      return (await import('./personaplex-onnx/index.ts')).start(engine.config, child);
  }
}
