export { PersonaPlexServerEngine, type PersonaPlexServerOptions } from './engine.ts';
export type { ServerConfig, ServerStatus, PoolTiming } from './server-pool.ts';
export type { ManagedCommand } from './managed-server.ts';
export { voicePromptName } from './voice.ts';
