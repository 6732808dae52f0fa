/**
 * The game server's configuration from the environment, checked up front (with the engine's own settings, see
 * engines/select.ts) so a typo fails at start with a clear message instead of surfacing as a strange runtime
 * error. Every variable is listed in the README's configuration table.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, intFromEnv, oneOfFromEnv } from './env-rules.ts';
import { ENGINES, engineConfigFromEnv, type EngineConfig, type EngineName } from './engines/select.ts';

export { ConfigError, ENGINES, type EngineName };

export interface GameServerConfig {
  port: number;
  host: string | undefined;
  /** the engine's name and its validated settings (PARLEY_<ENGINE>_* variables) */
  engine: EngineConfig;
  sheetsDir: string;
  tokenizerPath: string | undefined;
  /** prompt budget in tokens: each costs one 80 ms model step before the NPC can speak */
  promptBudget: number;
  /** re-read edited sheets for the next session (off with NODE_ENV=production) */
  hotReload: boolean;
  idleTimeoutMs: number;
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function loadConfig(env: NodeJS.ProcessEnv = process.env): GameServerConfig {
  const engine = oneOfFromEnv<EngineName>(env, 'PARLEY_ENGINE', ENGINES, 'rehearsal');
  return {
    port: intFromEnv(env, 'PORT', 2567, 0, 65535),
    host: env.HOST || undefined,
    engine: engineConfigFromEnv(engine, env),
    sheetsDir: path.resolve(ROOT, env.PARLEY_SHEETS ?? 'character-sheets'),
    tokenizerPath: env.PARLEY_TOKENIZER || undefined,
    promptBudget: intFromEnv(env, 'PARLEY_PROMPT_BUDGET', 200, 1, 3000),
    hotReload: env.NODE_ENV !== 'production',
    idleTimeoutMs: intFromEnv(env, 'PARLEY_IDLE_TIMEOUT_MS', 20_000, 1000, 3_600_000),
  };
}
