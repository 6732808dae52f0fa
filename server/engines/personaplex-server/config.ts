/**
 * The personaplex-server engine's configuration, validated once on the main thread:
 *   PARLEY_PERSONAPLEX_SERVERS=http://gpu1:8998,http://gpu2:8000*32   (url, or url*capacity; default capacity 1)
 *   PARLEY_PERSONAPLEX_TEXT_LEAD=0                                       (frames a text piece leads its word's audio)
 *   PARLEY_PERSONAPLEX_TEXT_ORDER=before-audio                           (after-audio for Kyutai's moshi server)
 * or, for everything (managed mode, timing), a JSON or YAML file:
 *   PARLEY_PERSONAPLEX_CONFIG=./personaplex.yaml   ({ servers: [{ url, capacity, managed? }], textLeadFrames?, textOrder?, … })
 * Each host entry, wherever it comes from, is checked by validateHostConfig.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError, intFromEnv } from '../../env-rules.ts';
import type { PersonaPlexServerOptions } from './engine.ts';
import type { ManagedCommand } from './managed-server.ts';

/** Everything the engine takes except its logger; plain data. */
export type PersonaPlexServerConfig = Omit<PersonaPlexServerOptions, 'log'>;

const TEXT_ORDERS = ['before-audio', 'after-audio'] as const;

/** One PersonaPlex host in the pool. */
export interface PersonaPlexHostConfig {
  /** http(s):// or ws(s):// address of the server; `/api/chat` is used unless the URL names another path */
  url: string;
  /** conversations it serves at once: 1 for the official server */
  capacity: number;
  /** start (and restart) the server as a child process */
  managed?: ManagedCommand;
  /** accept a self-signed certificate (the official server's --ssl) */
  insecureTls?: boolean;
}


/** The one rule for a host entry, from the environment, a config file or code. */
export function validateHostConfig(c: unknown, i: number): PersonaPlexHostConfig {
  const where = `servers[${i}]`;
  if (!c || typeof c !== 'object') throw new Error(`${where} must be an object { url, capacity }`);
  const { url, capacity, managed, insecureTls } = c as Record<string, unknown>;
  if (typeof url !== 'string') throw new Error(`${where}.url must be a string`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${where}.url ${JSON.stringify(url)} is not a URL`);
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(parsed.protocol)) throw new Error(`${where}.url must be http(s):// or ws(s)://`);
  if (typeof capacity !== 'number' || !Number.isInteger(capacity) || capacity < 1 || capacity > 1024) {
    throw new Error(`${where}.capacity must be an integer from 1 (official server) to 1024`);
  }
  if (managed !== undefined) {
    const m = managed as Record<string, unknown>;
    if (!m || typeof m.command !== 'string' || !m.command) throw new Error(`${where}.managed.command must be a non-empty string`);
    if (m.args !== undefined && !(Array.isArray(m.args) && m.args.every((a) => typeof a === 'string'))) throw new Error(`${where}.managed.args must be strings`);
    if (m.cwd !== undefined && typeof m.cwd !== 'string') throw new Error(`${where}.managed.cwd must be a string`);
    if (m.env !== undefined && (typeof m.env !== 'object' || Object.values(m.env as object).some((v) => typeof v !== 'string'))) {
      throw new Error(`${where}.managed.env must map names to strings`);
    }
  }
  return { url, capacity, ...(managed ? { managed: managed as ManagedCommand } : {}), ...(insecureTls === true ? { insecureTls: true } : {}) };
}

function hostsOrThrow(list: unknown, where: string): PersonaPlexHostConfig[] {
  if (!Array.isArray(list) || list.length === 0) throw new ConfigError(`${where}: needs a non-empty 'servers' list of { url, capacity }`);
  return list.map((c, i) => {
    try {
      return validateHostConfig(c, i);
    } catch (err) {
      throw new ConfigError(`${where}: ${(err as Error).message}`);
    }
  });
}

export function configFromEnv(env: NodeJS.ProcessEnv): PersonaPlexServerConfig {
  const file = env.PARLEY_PERSONAPLEX_CONFIG;
  if (file) {
    let parsed: unknown;
    try {
      const text = readFileSync(file, 'utf8');
      parsed = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
    } catch (err) {
      throw new ConfigError(`PARLEY_PERSONAPLEX_CONFIG=${file}: ${(err as Error).message}`);
    }
    const where = `PARLEY_PERSONAPLEX_CONFIG=${file}`;
    const servers = hostsOrThrow((parsed as { servers?: unknown })?.servers, where);
    const lead = (parsed as { textLeadFrames?: unknown }).textLeadFrames;
    if (lead !== undefined && !(Number.isInteger(lead) && (lead as number) >= 0 && (lead as number) <= 25)) {
      throw new ConfigError(`${where}: textLeadFrames must be a whole number between 0 and 25`);
    }
    const order = (parsed as { textOrder?: unknown }).textOrder;
    if (order !== undefined && !TEXT_ORDERS.includes(order as never)) throw new ConfigError(`${where}: textOrder must be ${TEXT_ORDERS.join(' or ')}`);
    return { ...(parsed as PersonaPlexServerConfig), servers };
  }
  const list = env.PARLEY_PERSONAPLEX_SERVERS;
  if (!list) {
    throw new ConfigError('PARLEY_ENGINE=personaplex-server needs PARLEY_PERSONAPLEX_SERVERS (e.g. http://gpu-host:8998) or PARLEY_PERSONAPLEX_CONFIG');
  }
  const servers = list.split(',').map((entry, i) => {
    const [url, cap] = entry.trim().split('*');
    try {
      return validateHostConfig({ url, capacity: cap === undefined ? 1 : Number(cap) }, i);
    } catch (err) {
      throw new ConfigError(`PARLEY_PERSONAPLEX_SERVERS: '${entry.trim()}' is not url or url*capacity (e.g. http://gpu-host:8998*1): ${(err as Error).message}`);
    }
  });
  const textLeadFrames = intFromEnv(env, 'PARLEY_PERSONAPLEX_TEXT_LEAD', undefined, 0, 25);
  const textOrder = env.PARLEY_PERSONAPLEX_TEXT_ORDER;
  if (textOrder !== undefined && !TEXT_ORDERS.includes(textOrder as never)) {
    throw new ConfigError(`PARLEY_PERSONAPLEX_TEXT_ORDER must be ${TEXT_ORDERS.join(' or ')} (after-audio for Kyutai's moshi server), got '${textOrder}'`);
  }
  return {
    servers,
    ...(textLeadFrames !== undefined ? { textLeadFrames } : {}),
    ...(textOrder !== undefined ? { textOrder: textOrder as 'before-audio' | 'after-audio' } : {}),
  };
}
