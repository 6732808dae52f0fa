/**
 * Asking Alex a question out loud, end to end (issue 21): headless Chromium plays the sample game against the real
 * server (CPU rehearsal engine, Alex's sheet with topics), the microphone is a WAV of Flite asking about the
 * reactor, and the caption must show Alex's reactor answer, which only the recogniser can have chosen.
 *
 * The WAV loops in Chromium: the question, then four seconds of silence. The test holds V (push-to-talk) from a
 * silence until the question has been heard in full, so the server gets the whole question and nothing else. The
 * scene renders at 5 fps (the test looks at captions and events, not pixels: the cores go to the server).
 * Skips when /usr/bin/chromium is missing (CI: apt-get install -y chromium) or Flite is (apt-get install -y flite).
 */
import { execFileSync } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium } from '../plugin/support/chromium.ts';
import { speak, SPEAKERS } from '../rehearsal/spoken-questions.ts';
import { sleep } from '../support/time.ts';
import type { MarsServer } from './support/mars-server.ts';
import { gameHook, openGamePage, waitFor as waitUntil } from './support/game-page.ts';

const hasFlite = (() => {
  try {
    execFileSync('flite', ['-lv']);
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!hasChromium || !hasFlite)('asking Alex about the reactor in the sample game', () => {
  let srv: MarsServer;
  let browser: Browser;
  let page: Page;
  let consoleLines: string[] = [];
  const { readout, events, pageNow } = gameHook<{ caption: string; engine: string; mic: { dbfs: number }; npcs: Record<string, { status: string }> }>(() => page);
  /** what may have cost the question frames: late ticks (their frames wait, queued), concealed and dropped frames */
  const lostFrames = async (): Promise<number> => {
    const m = await (await fetch(`${srv.url}/metrics`)).text();
    let n = 0;
    for (const l of m.split('\n')) {
      if (/^parley_(ticks_late_total|frames_missing_total|frames_dropped_total\{[^}]*stream="player_voice")/.test(l)) n += Number(l.split(' ').at(-1));
    }
    return n;
  };

  const waitFor = <T>(what: string, probe: () => Promise<T>, timeoutMs: number) =>
    waitUntil(what, probe, timeoutMs, async () => `server log tail: ${srv.logs.slice(-5).join(' | ')}`);

  beforeAll(async () => {
    const question = speak("alex what's going on with the reactor", SPEAKERS.find((s) => s.label === 'flite:slt')!);
    const track = new Float32Array(question.length + 4 * 24_000);
    track.set(question, 0);
    ({ srv, browser, page, consoleLines } = await openGamePage(track, { fps: 5, viewport: { width: 640, height: 360 } }));
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await srv?.stop();
  });

  it("the HUD label says what the CPU engine understands", async () => {
    const r = await readout();
    expect(r.engine).toMatch(/recognises only its character sheet's topics/);
    expect(r.engine).toMatch(/not a language model/);
  });

  // The server used to drop a player's frame whenever a tick found the engine's previous step still running (a
  // late tick): on this shared 2-core machine, with Chromium rendering beside the server, 20–70% of the question's
  // ticks were late in some runs and the recogniser got a chopped question (measured with PARLEY_RECOGNIZER_DUMP:
  // the plugin's uplink was whole; see docs/rehearsal-engine.md). Late ticks now leave the frames queued, but a
  // starved machine can still conceal or trim some. So the question is asked again, as a player would, up
  // to four times; each ask logs the frames the server's own counters say it lost (late ticks, concealed and
  // dropped player frames). Not every miss is explained by them (one ask with none counted lost was not understood,
  // in ten runs): that cause is not found.
  it("asks Alex about the reactor; the caption shows Alex's reactor answer", async () => {
    const t0 = await pageNow();
    expect(await page.evaluate(() => (window as any).__parley.walkTo('alex', 1.5))).toBe(true);
    // let the greeting play out first, so the question is a turn of its own and not a barge-in
    const greeting = await waitFor('the greeting', async () => (await events(t0)).find((e) => e.name === 'speech-started' && e.npc === 'alex'), 20_000);
    await waitFor('the greeting to end', async () => (await events(greeting.t)).find((e) => e.name === 'speech-ended' && e.npc === 'alex'), 15_000);

    const loud = async () => (await readout()).mic.dbfs > -45;
    const tries: string[] = [];
    for (let ask = 1; ask <= 4; ask++) {
      await sleep(1500);
      // the WAV's loop: wait for the question to pass, press V in the silence after it, release after the next one
      await waitFor('the question in the mic', loud, 10_000);
      await waitFor('the silence after it', async () => !(await loud()), 10_000);
      await sleep(300);
      const t1 = await pageNow();
      const before = await lostFrames();
      await page.keyboard.down('KeyV');
      await waitFor('the question again', loud, 10_000);
      await waitFor('its end', async () => !(await loud()), 10_000);
      await sleep(300);
      await page.keyboard.up('KeyV');
      const lost = (await lostFrames()) - before;

      const answer = await waitFor('Alex answering', async () => (await events(t1)).find((e) => e.name === 'speech-started' && e.npc === 'alex'), 10_000).catch(
        async (err) => {
          tries.push(`ask ${ask}: ${lost} frames lost by the server, no answer (${(err as Error).message})`);
          console.log(tries.at(-1));
          return null;
        },
      );
      if (!answer) continue;
      // the caption shows the answer a few words at a time: gather what it shows until the answer has played out
      const shown: string[] = [];
      await waitFor('the end of the answer', async () => {
        const c = (await readout()).caption;
        if (c.startsWith('Alex:') && c !== shown.at(-1)) shown.push(c);
        return (await events(answer.t)).find((e) => e.name === 'speech-ended' && e.npc === 'alex');
      }, 20_000);
      const caption = shown.at(-1) ?? '';
      tries.push(`ask ${ask}: ${lost} frames lost by the server, caption ${JSON.stringify(caption)} (answer at ${answer.t.toFixed(0)} ms)`);
      console.log(tries.at(-1));
      if (shown.some((c) => /Alex: .*core's running hot/.test(c))) return;
    }
    throw new Error(`Alex did not understand the question in four asks: ${tries.join('; ')}`);
  }, 180_000);
});
