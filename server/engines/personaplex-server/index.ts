/**
 * The personaplex-server engine folder's entry: configFromEnv(env) (validated on the main thread, config.ts)
 * and start(config, log), as every engine folder exports them.
 */
import type { Logger } from '../../log.ts';
import type { DuplexEngine } from '../contract.ts';
import type { PersonaPlexServerConfig } from './config.ts';
import { PersonaPlexServerEngine } from './engine.ts';

export { configFromEnv, validateHostConfig, type PersonaPlexServerConfig, type PersonaPlexHostConfig } from './config.ts';
export { PersonaPlexServerEngine, type PersonaPlexServerOptions } from './engine.ts';
export type { ServerStatus, PoolTiming } from './server-pool.ts';
export type { ManagedCommand } from './managed-server.ts';
export { voicePromptName } from './voice.ts';

/** Network I/O stays on this thread (async); Opus/Ogg run in the engine's own codec workers. */
export function start(config: PersonaPlexServerConfig, log: Logger): Promise<DuplexEngine> {
  return PersonaPlexServerEngine.start({ ...config, log });
}
