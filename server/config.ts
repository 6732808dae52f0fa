/**
 * The game server's configuration from the environment, checked up front (with the engine's own settings, see
 * engines/select.ts) so a typo fails at start with a clear message instead of surfacing as a strange runtime
 * error. Every variable is listed in the README's configuration table.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, intFromEnv, oneOfFromEnv } from './env-rules.ts';
import type { EchoGateMode } from './room/player-link.ts';
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
  /** who gets the server's echo gate (PARLEY_SERVER_ECHO_GATE: auto, 1, 0): about 1 ms of CPU per gated player-frame */
  serverEchoGate: EchoGateMode;
  /** most echo gates running at once in this process (PARLEY_SERVER_ECHO_GATE_MAX) */
  serverEchoGateMax: number;
  /** cluster mode (docs/scaling.md): set only with REDIS_URL; without it, one process with nothing to install */
  cluster: ClusterConfig | undefined;
  /** how long SIGTERM lets NPC turns finish before players are moved (PARLEY_DRAIN_MS) */
  drainMs: number;
}

export interface ClusterConfig {
  /** redis://[user:password@]host:port[/db] shared by every game-server process */
  redisUrl: string;
  /** host[:port] players reach this process at (PARLEY_PUBLIC_ADDRESS); Colyseus puts it in seat reservations */
  publicAddress: string | undefined;
}

/** REDIS_URL and PARLEY_PUBLIC_ADDRESS, checked: a typo fails at start, not at the first join. */
export function clusterFromEnv(env: NodeJS.ProcessEnv): ClusterConfig | undefined {
  const raw = env.REDIS_URL;
  const publicAddress = env.PARLEY_PUBLIC_ADDRESS || undefined;
  if (!raw) {
    if (publicAddress) throw new ConfigError('PARLEY_PUBLIC_ADDRESS is set without REDIS_URL; it only matters in cluster mode');
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`REDIS_URL=${raw} is not a URL (redis://host:port)`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new ConfigError(`REDIS_URL=${raw} must start with redis:// or rediss://`);
  if (publicAddress !== undefined && !/^[A-Za-z0-9.-]+(:\d{1,5})?(\/[\w./-]*)?$/.test(publicAddress)) {
    throw new ConfigError(`PARLEY_PUBLIC_ADDRESS=${publicAddress} is not host[:port][/path] (no scheme)`);
  }
  return { redisUrl: raw, publicAddress };
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
    serverEchoGate: echoGateFromEnv(env),
    serverEchoGateMax: intFromEnv(env, 'PARLEY_SERVER_ECHO_GATE_MAX', 8, 0, 1024),
    cluster: clusterFromEnv(env),
    drainMs: intFromEnv(env, 'PARLEY_DRAIN_MS', 10_000, 0, 120_000),
  };
}

/** PARLEY_SERVER_ECHO_GATE: auto (the default: players whose client does not cancel its echo), 1 (all), 0 (none). */
function echoGateFromEnv(env: NodeJS.ProcessEnv): EchoGateMode {
  const v = env.PARLEY_SERVER_ECHO_GATE;
  if (v === undefined || v === '' || v === 'auto') return 'auto';
  if (v === '1') return true;
  if (v === '0') return false;
  throw new ConfigError(`PARLEY_SERVER_ECHO_GATE must be auto, 0 or 1 (got '${v}')`);
}
