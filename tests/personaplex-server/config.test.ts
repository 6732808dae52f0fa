/** The personaplex-server engine's text/audio order setting, from the environment and from a config file. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFromEnv } from '../../server/engines/personaplex-server/config.ts';

describe('textOrder configuration', () => {
  it("takes PARLEY_PERSONAPLEX_TEXT_ORDER (after-audio for Kyutai's server) and refuses anything else clearly", () => {
    expect(configFromEnv({ PARLEY_PERSONAPLEX_SERVERS: 'http://a:1' }).textOrder).toBeUndefined();
    expect(configFromEnv({ PARLEY_PERSONAPLEX_SERVERS: 'http://a:1', PARLEY_PERSONAPLEX_TEXT_ORDER: 'after-audio' }).textOrder).toBe('after-audio');
    expect(() => configFromEnv({ PARLEY_PERSONAPLEX_SERVERS: 'http://a:1', PARLEY_PERSONAPLEX_TEXT_ORDER: 'late' })).toThrow(
      /PARLEY_PERSONAPLEX_TEXT_ORDER must be before-audio or after-audio.*got 'late'/,
    );
  });

  it('takes textOrder from PARLEY_PERSONAPLEX_CONFIG and checks it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'parley-pps-'));
    try {
      const good = path.join(dir, 'good.yaml');
      writeFileSync(good, 'servers:\n  - { url: "ws://kyutai:8998", capacity: 1 }\ntextOrder: after-audio\n');
      expect(configFromEnv({ PARLEY_PERSONAPLEX_CONFIG: good }).textOrder).toBe('after-audio');
      const bad = path.join(dir, 'bad.json');
      writeFileSync(bad, JSON.stringify({ servers: [{ url: 'ws://k:1', capacity: 1 }], textOrder: 'audio-first' }));
      expect(() => configFromEnv({ PARLEY_PERSONAPLEX_CONFIG: bad })).toThrow(/textOrder must be before-audio or after-audio/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
