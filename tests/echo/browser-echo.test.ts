/**
 * Echo cancellation in headless Chromium through the built plugin (tests/echo/support/browser-echo.ts): the
 * page's own NPC voice, fed back through a simulated room into the capture input, is cancelled; the player
 * talking over it still gets through. Skips only when /usr/bin/chromium is missing.
 */
import { describe, expect, it } from 'vitest';
import { hasChromium } from '../plugin/support/chromium.ts';
import { browserEcho } from './support/browser-echo.ts';

if (!hasChromium) console.warn('browser-echo.test.ts skipped: /usr/bin/chromium is missing (apt-get install -y chromium)');

describe.skipIf(!hasChromium)('echo cancellation in headless Chromium', () => {
  it('cancels the page’s own NPC voice coming back through a room, and the player still gets through', async () => {
    const r = await browserEcho({ delayMs: 120, rt60: 0.4, gainDb: -6 });
    console.log(`Chromium echo: ERLE ${r.erleDb.toFixed(1)} dB from 2 s, 25 dB from ${r.convergedS} s, delay ${r.delayMs} ms, cost ${r.costMsP50.toFixed(2)} ms/frame; windows ${r.windows.map((w) => w.db.toFixed(0)).join(' ')}; player over NPC ${r.doubleTalkDbfs.toFixed(1)} dBFS vs echo alone ${r.echoOnlyDbfs.toFixed(1)} dBFS`);
    expect(r.errors).toEqual([]);
    expect(r.echoSaid).toEqual(['cancelled']); // so the server's automatic echo gate leaves this player alone
    expect(r.windows.length).toBeGreaterThan(6); // the NPC's voice did come back into the mic
    expect(r.erleDb).toBeGreaterThan(20); // measured 33 dB (from 2 s after the NPC became audible)
    // the player's speech over the NPC comes out far above what is left of the echo alone
    expect(r.doubleTalkDbfs - r.echoOnlyDbfs).toBeGreaterThan(20);
  }, 300_000);
});
