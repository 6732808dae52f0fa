/**
 * Server configuration from the environment, checked up front so a typo fails at start with a clear message
 * instead of surfacing as a strange runtime error.
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ENGINES = ['rehearsal', 'personaplex-server', 'personaplex-onnx'] as const;
export type EngineName = (typeof ENGINES)[number];

export interface ServerConfig {
  port: number;
  host: string | undefined;
  engine: EngineName;
  sheetsDir: string;
  tokenizerPath: string | undefined;
  /** prompt budget in tokens: each costs one 80 ms model step before the NPC can speak */
  promptBudget: number;
  /** re-read edited sheets for the next session (off with NODE_ENV=production) */
  hotReload: boolean;
  idleTimeoutMs: number;
  /** engine-specific settings, passed through as PARLEY_<ENGINE>_* variables */
  env: NodeJS.ProcessEnv;
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) throw new ConfigError(`${name}=${raw} is not a whole number between ${min} and ${max}`);
  return v;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const engine = (env.PARLEY_ENGINE ?? 'rehearsal') as EngineName;
  if (!ENGINES.includes(engine)) {
    throw new ConfigError(`PARLEY_ENGINE=${env.PARLEY_ENGINE} is not one of: ${ENGINES.join(', ')}`);
  }
  return {
    port: int(env, 'PORT', 2567, 0, 65535),
    host: env.HOST || undefined,
    engine,
    sheetsDir: path.resolve(ROOT, env.PARLEY_SHEETS ?? 'character-sheets'),
    tokenizerPath: env.PARLEY_TOKENIZER || undefined,
    promptBudget: int(env, 'PARLEY_PROMPT_BUDGET', 200, 1, 3000),
    hotReload: env.NODE_ENV !== 'production',
    idleTimeoutMs: int(env, 'PARLEY_IDLE_TIMEOUT_MS', 20_000, 1000, 3_600_000),
    env,
  };
}

export const CORES = Math.max(1, os.availableParallelism());
