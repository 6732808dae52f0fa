/**
 * PersonaPlex server pool configuration from the environment:
 *   PARLEY_PERSONAPLEX_SERVERS=http://gpu1:8998,http://gpu2:8000*32   (url, or url*capacity; default capacity 1)
 * or, for everything (managed mode, timing), a JSON or YAML file:
 *   PARLEY_PERSONAPLEX_CONFIG=./personaplex.yaml   ({ servers: [{ url, capacity, managed? }], textLeadFrames?, … })
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../config.ts';
import type { PersonaPlexServerOptions } from './personaplex-server/index.ts';

export function personaplexServerOptions(env: NodeJS.ProcessEnv): Omit<PersonaPlexServerOptions, 'log'> {
  const file = env.PARLEY_PERSONAPLEX_CONFIG;
  if (file) {
    let parsed: unknown;
    try {
      const text = readFileSync(file, 'utf8');
      parsed = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
    } catch (err) {
      throw new ConfigError(`PARLEY_PERSONAPLEX_CONFIG=${file}: ${(err as Error).message}`);
    }
    const servers = (parsed as { servers?: unknown })?.servers;
    if (!Array.isArray(servers) || servers.length === 0) {
      throw new ConfigError(`PARLEY_PERSONAPLEX_CONFIG=${file}: needs a non-empty 'servers' list of { url, capacity }`);
    }
    return parsed as PersonaPlexServerOptions;
  }
  const list = env.PARLEY_PERSONAPLEX_SERVERS;
  if (!list) {
    throw new ConfigError('PARLEY_ENGINE=personaplex-server needs PARLEY_PERSONAPLEX_SERVERS (e.g. http://gpu-host:8998) or PARLEY_PERSONAPLEX_CONFIG');
  }
  const servers = list.split(',').map((entry) => {
    const [url, cap] = entry.trim().split('*');
    const capacity = cap === undefined ? 1 : Number(cap);
    if (!url || !/^(https?|wss?):\/\//.test(url) || !Number.isInteger(capacity) || capacity < 1) {
      throw new ConfigError(`PARLEY_PERSONAPLEX_SERVERS: '${entry}' is not url or url*capacity (e.g. http://gpu-host:8998*1)`);
    }
    return { url, capacity };
  });
  const lead = env.PARLEY_PERSONAPLEX_TEXT_LEAD;
  return { servers, ...(lead ? { textLeadFrames: Number(lead) } : {}) };
}
