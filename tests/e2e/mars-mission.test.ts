/**
 * The sample game end to end, in headless Chromium against the real server (CPU rehearsal engine, the
 * character sheets, the Mars-mission room), with a WAV file of synthetic speech as the microphone.
 *
 * The player boards in push-to-talk mode (so the test decides when the player speaks, by holding V as a player
 * would), walks up to Alex and checks: Alex's session starts, Alex's greeting plays in the page (the voice's
 * samples-played clock advances and its level is not silence), Alex's viseme morph targets move while the voice
 * plays and rest when it stops, a caption appears, and talking over Alex stops Alex's voice at once (interrupted
 * event, playback buffer flushed). A screenshot of the conversation goes to tests/artifacts/.
 *
 * It reads the page through `window.__parley`, the sample game's test hook (sample-game/test-hook.ts).
 * Skips when /usr/bin/chromium is missing (CI: apt-get install -y chromium).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium } from '../plugin/support/chromium.ts';
import type { MarsServer } from './support/mars-server.ts';
import { gameHook, openGamePage, waitFor as waitUntil } from './support/game-page.ts';
import { sleep } from '../support/time.ts';
import type { GameEvent, NpcReadout } from '../../sample-game/test-hook.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const artifacts = path.join(root, 'tests/artifacts');

interface Readout {
  session: string;
  engine: string;
  heardBy: string;
  mic: { mode: string; muted: boolean; talking: boolean; sentFrames: number; dbfs: number; sent: boolean; speaking: boolean };
  npcs: Record<string, NpcReadout>;
  caption: string;
  latency: { replies: number[]; yields: number[] };
  audioTime: number;
}

if (!hasChromium) console.warn('mars-mission.test.ts skipped: /usr/bin/chromium is missing (apt-get install -y chromium)');

describe.skipIf(!hasChromium)('the Mars-mission sample game in headless Chromium', () => {
  let srv: MarsServer;
  let browser: Browser;
  let page: Page;
  let pageErrors: string[] = [];
  let consoleLines: string[] = [];

  const { readout, events, trace: traceOf, pageNow } = gameHook<Readout>(() => page);
  const trace = (since = 0) => traceOf('alex', since);
  const waitFor = <T>(what: string, probe: () => Promise<T>, timeoutMs: number) =>
    waitUntil(what, probe, timeoutMs, async () => {
      const r = await readout().catch(() => null);
      return `page: ${JSON.stringify(r?.npcs?.alex ?? r)}; server log tail: ${srv.logs.slice(-5).join(' | ')}`;
    });

  /**
   * Wait until Alex's speech that ended at stream frame `ended.i` has been played out (speech-ended comes with the
   * stream's last frame, ahead of the playback buffer) and three rendered frames were quiet since.
   */
  const quietAfter = (ended: GameEvent) =>
    waitFor('Alex to fall quiet', async () => {
      const r = await readout();
      if (r.npcs.alex.streamPosition < (ended.i! + 2) * 1920) return false;
      const recent = await trace((await pageNow()) - 2000);
      return recent.length >= 3 && recent.slice(-3).every((e) => e.level < 0.003);
    }, 8000);

  beforeAll(async () => {
    const g = await openGamePage(['Alex, what is going on with the reactor?', 'I can see a panel on the wall.', 'Tell me what to do and I will do it.']);
    ({ srv, browser, page, pageErrors, consoleLines } = g);
    console.log('setup: %s', g.steps.join(', '));
  }, 180_000); // ~15 s on an idle machine; over 90 s seen with other engineers' tests and benches on the 2 cores

  afterAll(async () => {
    await browser?.close();
    await srv?.stop();
  });

  it('boards the ship: the HUD shows push-to-talk on V and the engine label as the server states it', async () => {
    const r = await readout();
    expect(r.session).toBe('ready');
    // the CPU default's honest label: what it understands (its sheet's topics) and that it is no language model
    expect(r.engine).toMatch(/recognises only its character sheet's topics/);
    expect(r.engine).toMatch(/not a language model/);
    // the HUD is refreshed by the render loop, which runs at a few frames a second in this test
    await waitFor('the HUD to show the engine label', async () => (await page.textContent('#hud-engine')) === r.engine, 3000);
    await waitFor('the HUD to show push-to-talk', async () => /push-to-talk — hold V/.test((await page.textContent('#hud-mic')) ?? ''), 3000);
    expect(await page.isHidden('#start')).toBe(true);
    expect(r.mic.mode).toBe('push-to-talk');
    expect(pageErrors).toEqual([]);
  });

  let greetingAt = 0;
  let walkedAt = 0;
  it("walking up to Alex starts Alex's session, and Alex's greeting plays in the page", async () => {
    // A retry looks for the greeting from the first walk: Alex greets once, so a retry's own start would miss it.
    const t0 = walkedAt || (walkedAt = await pageNow());
    expect(await page.evaluate(() => (window as any).__parley.walkTo('alex', 1.5))).toBe(true);
    await waitFor('Alex to hear the player best', async () => (await readout()).heardBy === 'alex', 5000);
    await waitFor('the HUD to say so', async () => /Alex hears you best/.test((await page.textContent('#hud-heard')) ?? ''), 3000);
    await waitFor("Alex's session", async () => ['listening', 'speaking'].includes((await readout()).npcs.alex.status), 15_000);
    const started = await waitFor('speech-started from Alex', async () => (await events(t0)).find((e) => e.name === 'speech-started' && e.npc === 'alex'), 15_000);
    greetingAt = started.t;
    // audible: the level of Alex's Babylon sound source (the session streams silent frames too, so `playing`
    // alone says nothing about speech)
    await waitFor("Alex's voice to be heard", async () => (await trace(greetingAt)).some((e) => e.level > 0.02), 6000);
    const ra = await readout();
    await sleep(1000);
    const rb = await readout();
    const [a, b] = [ra.npcs.alex, rb.npcs.alex];
    // The samples-played clock runs with the page's audio clock (24 samples per ms). Measured against the audio
    // clock, not the wall clock: on a starved machine headless Chromium's output device itself runs slow (CI once
    // played 160 ms in 500 of wall clock). A quarter, not all: with six busy loops on the two cores the voice's
    // feed underruns (0.45 of the audio clock seen); a voice that does not play stands at 0.
    const device = (rb.audioTime - ra.audioTime) * 24_000;
    console.log('alex clock: %d → %d while the audio clock ran %d samples (wall 1000 ms); buffer %d ms; underruns %d', a.streamPosition, b.streamPosition, Math.round(device), b.bufferedMs, b.underruns);
    expect(device).toBeGreaterThan(0);
    expect(b.streamPosition - a.streamPosition).toBeGreaterThan(0.25 * device);
  }, 40_000);

  it('shows a caption with what Alex says', async () => {
    const caption = await waitFor('a caption', async () => {
      const c = (await readout()).caption;
      return /^Alex: .*\b(Good|here|need|hands|reactor)\b/m.test(c) ? c : null;
    }, 6000);
    expect(await page.locator('.parley-caption-line', { hasText: 'Alex:' }).isVisible()).toBe(true);
    console.log('caption: %s', caption);
  });

  it("moves Alex's viseme morph targets while the voice is heard, and rests them when it is silent", async () => {
    const ended = await waitFor('the greeting to end', async () => (await events(greetingAt)).find((e) => e.name === 'speech-ended' && e.npc === 'alex'), 12_000);
    await quietAfter(ended); // speech-ended comes with the stream's last frame; the buffer still plays it out
    // One trace entry per rendered frame (about 10 a second here). The greeting is heard from its first to its
    // last loud frame. The mouth follows the samples-played clock, which trails the analyzer's level (it sees
    // samples before the output does) by up to a rendered frame, so a loud frame counts as lip-synced when the
    // mouth is shaped in it or in the next one. This asks what a player sees (the mouth moves while the voice
    // is audible), not how much of the window is speech: a starved page underruns and skips, leaving fewer
    // loud frames, but the mouth must still move on the ones it has.
    const all = await trace(greetingAt);
    const loud = all.filter((e) => e.level > 0.01);
    expect(loud.length).toBeGreaterThan(5);
    const heard = all.filter((e) => e.t >= loud[0].t && e.t <= loud.at(-1)!.t + 300);
    const shaped = heard.filter((e) => e.mouth > 0.15);
    const shapes = new Set(shaped.map((e) => e.top));
    const audible = heard.map((e, i) => ({ e, next: heard[i + 1] })).filter(({ e }) => e.level > 0.03);
    const synced = audible.filter(({ e, next }) => Math.max(e.mouth, next?.mouth ?? 0) > 0.15);
    const detail = JSON.stringify(heard.map((e) => [Math.round(e.t - greetingAt), +(e.pos / 1920).toFixed(1), +e.level.toFixed(3), +e.mouth.toFixed(2)]));
    console.log('lip-sync: %d frames while heard, %d audible, %d of those with the mouth shaped, max %s, visemes %j', heard.length, audible.length, synced.length, Math.max(...heard.map((e) => e.mouth)).toFixed(2), [...shapes]);
    console.log('lip-sync trace (ms, stream frame, level, mouth): %s', detail);
    expect(Math.max(...heard.map((e) => e.mouth))).toBeGreaterThan(0.4);
    expect(audible.length, detail).toBeGreaterThanOrEqual(5);
    expect(synced.length / audible.length, detail).toBeGreaterThanOrEqual(0.6);
    expect(shapes.size).toBeGreaterThanOrEqual(3); // different mouth shapes, not one flapping jaw
    // silent: before the greeting, and once it has played out
    const before = (await trace(0)).filter((e) => e.t < greetingAt);
    if (before.length) expect(Math.max(...before.map((e) => e.mouth))).toBeLessThan(0.1);
    const r = await readout();
    expect(r.npcs.alex.level).toBeLessThan(0.005);
    // viseme_sil is the rest pose; the driver closes the mouth 150 ms into a silence and releases over ~70 ms,
    // so on a starved renderer (a few frames a second) allow it a second to get there
    await waitFor('the mouth to rest', async () => Math.max(...(await readout()).npcs.alex.influences.slice(1)) < 0.1, 1000);
  }, 20_000);

  it("answers when the player speaks, and talking over the answer stops Alex's voice: interrupted, flushed, mouth at rest", async () => {
    const t0 = await pageNow();
    await page.keyboard.down('KeyV'); // push-to-talk: the WAV's speech goes to the server while V is held
    await sleep(2000);
    const tUp = await pageNow();
    await page.keyboard.up('KeyV');
    // Alex's answer that is still going once the player's speech has all arrived. Alex may take the turn in a
    // pause of the WAV's speech while V is held and be cut by the rest of it (the frames already on their way
    // when V comes up): that is the engine yielding as it should, and it answers again after.
    const answer = await waitFor('Alex answering', async () => {
      if ((await pageNow()) < tUp + 400) return null;
      const mine = (await events(t0)).filter((e) => e.npc === 'alex' && ['speech-started', 'speech-ended', 'interrupted'].includes(e.name));
      const last = mine.at(-1);
      return last?.name === 'speech-started' ? last : null;
    }, 10_000);
    // talk over it as soon as it is heard (or half a second in: playback may lag on a loaded machine)
    await waitFor('the answer to be heard', async () => (await trace(answer.t)).some((e) => e.level > 0.02) || (await pageNow()) > answer.t + 500, 6000);
    const log = await events(answer.t);
    expect(log.some((e) => e.name === 'speech-ended' && e.npc === 'alex'), JSON.stringify(log)).toBe(false); // still answering

    const t1 = await pageNow();
    await page.keyboard.down('KeyV'); // the player talks over Alex
    const cut = await waitFor('interrupted from Alex', async () => (await events(t1)).find((e) => e.name === 'interrupted' && e.npc === 'alex'), 6000);
    console.log('interrupted %d ms after the player started talking', Math.round(cut.t - t1));
    // Alex's voice was playing when the player cut in
    expect(Math.max(...(await trace(answer.t)).filter((e) => e.t <= cut.t).map((e) => e.level))).toBeGreaterThan(0.01);
    await sleep(1200);
    const after = await trace(cut.t);
    expect(after.length).toBeGreaterThan(3);
    // Nothing more of the answer is heard: the buffered speech was dropped at once, not played out. (On a
    // starved machine the mic can stall long enough for the server to hear the player stop and give Alex the
    // turn again: a new utterance, not the one cut off, so the check ends where a new one starts.)
    const next = (await events(cut.t)).find((e) => e.name === 'speech-started' && e.npc === 'alex');
    const until = next ? next.t : Infinity;
    const late = after.filter((e) => e.t >= cut.t + 200 && e.t < until); // from 200 ms on: past the flush and the output latency
    const before = (await trace(cut.t - 1500)).filter((e) => e.t < cut.t);
    const detail = JSON.stringify({
      cut: cut.i,
      heardAtCut: cut.pos === undefined ? null : Math.floor(cut.pos / 1920),
      before: before.map((e) => [Math.round(e.t - cut.t), Math.floor(e.pos / 1920), +e.level.toFixed(3)]),
      after: after.map((e) => [Math.round(e.t - cut.t), Math.floor(e.pos / 1920), +e.level.toFixed(3), +e.mouth.toFixed(2)]),
    });
    console.log('around the cut (ms from the event, stream frame, level): %s', detail);
    // Flushed: the speech buffered beyond the audio output (frames between the playhead, plus what the output
    // already holds, and the cut frame) is never played: the playhead holds still or jumps to the cut frame.
    // The playhead is the voice's clock when the page handled the event (the render trace before it can be a
    // starved render loop's frame or more older).
    const playhead = Math.floor(Math.max(before.at(-1)!.pos, cut.pos ?? 0) / 1920);
    for (const e of late) {
      const f = Math.floor(e.pos / 1920);
      expect(f <= playhead + 2 || f >= cut.i!, `frame ${f} played after the cut; ${detail}`).toBe(true);
    }
    // and nothing is heard but the cut frame's 5 ms fade-out
    const quiet = late.filter((e) => Math.floor(e.pos / 1920) !== cut.i!);
    expect(Math.max(0, ...quiet.map((e) => e.level)), detail).toBeLessThan(0.01);
    // the mouth rests after the cut: closed by the flush (no keys left) or by the silence that follows
    const rest = after.filter((e) => e.t >= cut.t + 800 && e.t < until);
    if (!next || rest.length) expect(Math.max(...rest.map((e) => e.mouth)), detail).toBeLessThan(0.1);
    const r = await readout();
    console.log('mic while talking over Alex: %j', r.mic);
    expect(r.mic.talking).toBe(true);
    if (!next) expect(r.npcs.alex.status).toBe('listening');
    console.log('HUD yield figure(s): %j ms', r.latency.yields.map(Math.round));
    expect(r.latency.yields.length).toBeGreaterThan(0);
  }, 30_000);

  it('when the player stops, Alex takes the turn back; the mouth moves again and rests after the line; writes a screenshot of the conversation', async () => {
    const t0 = await pageNow();
    await sleep(500);
    await page.keyboard.up('KeyV');
    const line = await waitFor('Alex speaking again', async () => (await events(t0)).find((e) => e.name === 'speech-started' && e.npc === 'alex'), 10_000);
    await waitFor('the line in the captions', async () => /Alex: .*\b(Sorry|go ahead|see)\b/.test((await readout()).caption), 8000);
    // The screenshot is taken here, not during the greeting: a full-resolution frame in software GL holds the
    // page's main thread for seconds, starving the voice's playback (its clock crawls, then skips ahead), which
    // would spoil the greeting's lip-sync check.
    await mkdir(artifacts, { recursive: true });
    await page.evaluate(() => (window as any).__parley.setRenderQuality(1, 10));
    await page.screenshot({ path: path.join(artifacts, 'mars-mission-conversation.png') });
    await page.evaluate(() => (window as any).__parley.setRenderQuality(2, 10));
    const ended = await waitFor('the line to end', async () => (await events(line.t)).find((e) => e.name === 'speech-ended' && e.npc === 'alex'), 12_000);
    await quietAfter(ended);
    const r = await waitFor('the mouth to rest', async () => {
      const x = await readout();
      return Math.max(...x.npcs.alex.influences.slice(1)) < 0.1 ? x : null;
    }, 2000);
    const spoke = (await trace(line.t)).filter((e) => e.level > 0.01);
    expect(Math.max(...spoke.map((e) => e.mouth))).toBeGreaterThan(0.4);
    console.log('HUD reply figure(s): %j ms', r.latency.replies.map(Math.round));
    expect(r.latency.replies.length).toBeGreaterThan(0);
    expect(await page.textContent('#hud-latency')).toMatch(/reply \d+ ms/);
    expect(pageErrors).toEqual([]);
  }, 40_000);
});
