/**
 * The rules every environment variable is read with, for server/config.ts and each engine's configFromEnv: a
 * typo fails at start with a ConfigError that names the variable, instead of surfacing as a strange runtime error.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** A whole number in [min, max], or `fallback` when unset or empty. */
export function intFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number;
export function intFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: undefined, min: number, max: number): number | undefined;
export function intFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number | undefined, min: number, max: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) throw new ConfigError(`${name}=${raw} is not a whole number between ${min} and ${max}`);
  return v;
}

/** One of `allowed`, or `fallback` when unset or empty. */
export function oneOfFromEnv<T extends string>(env: NodeJS.ProcessEnv, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) throw new ConfigError(`${name}=${raw} is not one of: ${allowed.join(', ')}`);
  return raw as T;
}
