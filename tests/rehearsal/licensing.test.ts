/** espeak-ng is GPL-3.0: it may be used by the server only, never by code bundled for browsers. */
import { describe, expect, it } from 'vitest';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries;
  try {
    entries = await readdir(path.join(root, dir), { withFileTypes: true });
  } catch {
    return out; // folder not there (yet)
  }
  for (const e of entries) {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sources(rel)));
    else if (/\.(m?[jt]sx?)$/.test(e.name)) out.push(rel);
  }
  return out;
}

describe('licensing', () => {
  it('nothing under plugin/ or sample-game/ imports espeak-ng or the rehearsal engine', async () => {
    const files = [...(await sources('plugin')), ...(await sources('sample-game'))];
    const offenders: string[] = [];
    for (const f of files) {
      const text = await readFile(path.join(root, f), 'utf8');
      if (/from\s+['"][^'"]*(espeak-ng|engines\/rehearsal)[^'"]*['"]|import\(\s*['"][^'"]*(espeak-ng|engines\/rehearsal)/.test(text)) offenders.push(f);
    }
    expect(offenders).toEqual([]);
  });
});
