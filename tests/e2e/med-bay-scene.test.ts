/**
 * The med-bay scene end to end (issue 19, part 4), in headless Chromium against the real server (CPU rehearsal
 * engine, the character sheets, the Mars-mission room as scenes/mars-mission.json places it), with a WAV file of
 * synthetic speech as the microphone.
 *
 * The player boards in push-to-talk mode and walks into the med bay, where Dr. Okafor is checking Commander Vance
 * (2 m apart; their sheets say they hear each other). Nobody presses V, so what happens is theirs alone: both
 * sessions open, both NPCs speak, alternating, each audible in the page with its mouth moving, captions show both,
 * and the synced `talkingTo` and the HUD's "Talking" row say who answers whom. Then the player holds V and talks into
 * the exchange: the NPC that hears them best answers (its talkingTo is this player, the HUD says "→ you"), the
 * other does not answer too, and no NPC starts a turn addressed to the other NPC meanwhile. A screenshot goes to tests/artifacts/.
 *
 * It reads the page through `window.__parley` (sample-game/test-hook.ts). Skips when /usr/bin/chromium is missing.
 * Run one browser test at a time on a small machine (each starts Chromium with software WebGL).
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
const PAIR = ['okafor', 'vance'] as const;
const NAMES = { okafor: 'Dr. Nadia Okafor', vance: 'Commander Idris Vance' };

interface Readout {
  session: string;
  self: string;
  talk: string;
  heardBy: string;
  npcs: Record<string, NpcReadout>;
  caption: string;
}

if (!hasChromium) console.warn('med-bay-scene.test.ts skipped: /usr/bin/chromium is missing (apt-get install -y chromium)');

describe.skipIf(!hasChromium)('the med-bay scene: Okafor and Vance talk to each other, and the player joins', () => {
  let srv: MarsServer;
  let browser: Browser;
  let page: Page;
  let pageErrors: string[] = [];
  let consoleLines: string[] = [];
  /** what the page showed, sampled every ~150 ms by `watch` (HUD line and captions) */
  const shown = { talk: new Set<string>(), captions: new Set<string>() };
  let watching = false;

  const { readout, events, trace, pageNow } = gameHook<Readout>(() => page);
  const pairEvents = async (name: string, since: number) => (await events(since)).filter((e) => e.name === name && (PAIR as readonly string[]).includes(e.npc ?? ''));

  const waitFor = <T>(what: string, probe: () => Promise<T>, timeoutMs: number) =>
    waitUntil(what, probe, timeoutMs, async () => {
      const r = await readout().catch(() => null);
      const ev = await events(0).catch(() => []);
      return (
        `page: ${JSON.stringify({ talk: r?.talk, okafor: r?.npcs?.okafor?.status, vance: r?.npcs?.vance?.status })}; ` +
        `events: ${JSON.stringify(ev.filter((e) => e.npc !== 'alex').slice(-12).map((e) => [Math.round(e.t), e.name, e.npc, e.detail]))}; ` +
        `server log tail: ${srv.logs.slice(-5).join(' | ')}`
      );
    });

  /** Sample the HUD's Talking row and the captions while a test runs (they change faster than a test step). */
  async function watch() {
    watching = true;
    while (watching) {
      const r = await readout().catch(() => null);
      if (r) {
        shown.talk.add(r.talk);
        for (const line of r.caption.split('\n')) if (line) shown.captions.add(line);
      }
      await sleep(150);
    }
  }

  /** The speakers in order of their speech-started events, repeats collapsed: ['vance', 'okafor', 'vance', …]. */
  const turns = (started: GameEvent[]) => started.map((e) => e.npc!).filter((n, i, a) => i === 0 || a[i - 1] !== n);

  beforeAll(async () => {
    const g = await openGamePage(['Doctor, Commander, listen to me please.', 'The reactor is failing and we need a plan now.']);
    ({ srv, browser, page, pageErrors, consoleLines } = g);
    console.log('setup: %s', g.steps.join(', '));
  }, 180_000);

  afterAll(async () => {
    watching = false;
    await browser?.close();
    await srv?.stop();
  });

  let exchangeFrom = 0;
  it('walking into the med bay: both NPCs speak, alternating, audible with lips moving; captions and the HUD show who talks to whom', async () => {
    exchangeFrom = await pageNow();
    const watcher = watch();
    // 2 m in front of Okafor: within both NPCs' hearing radii (Okafor 5 m, Vance 7 m); the player says nothing
    expect(await page.evaluate(() => (window as any).__parley.walkTo('okafor', 2))).toBe(true);
    await waitFor('both sessions', async () => {
      const r = await readout();
      return PAIR.every((n) => ['listening', 'speaking'].includes(r.npcs[n]!.status));
    }, 30_000);
    // alternating: at least three turns with both NPCs in them, and each answering the other
    await waitFor('an exchange: three alternating turns, each NPC talking to the other', async () => {
      const t = turns(await pairEvents('speech-started', exchangeFrom));
      const to = await pairEvents('talking-to', exchangeFrom);
      return t.length >= 3 && to.some((e) => e.npc === 'okafor' && e.detail === 'vance') && to.some((e) => e.npc === 'vance' && e.detail === 'okafor');
    }, 60_000);
    const started = await pairEvents('speech-started', exchangeFrom);
    const log = (await events(exchangeFrom)).filter((e) => e.npc !== 'alex' && e.name !== 'session');
    console.log('events (ms, name, npc, detail): %j', log.map((e) => [Math.round(e.t - exchangeFrom), e.name, e.npc, e.detail ?? '']));
    expect(new Set(turns(started)).size).toBe(2);
    // the player never spoke: nobody was talking to them
    const self = (await readout()).self;
    expect(self).not.toBe('');
    expect((await pairEvents('talking-to', exchangeFrom)).filter((e) => e.detail === self)).toEqual([]);

    // audible, with lips: each NPC's voice is heard in the page, and its mouth moves while it is
    for (const n of PAIR) {
      const tr = await trace(n, exchangeFrom);
      const loud = tr.filter((e) => e.level > 0.01);
      console.log('%s: %d loud frames, peak level %s, mouth max %s', n, loud.length, Math.max(0, ...tr.map((e) => e.level)).toFixed(3), Math.max(0, ...loud.map((e) => e.mouth)).toFixed(2));
      expect(Math.max(...tr.map((e) => e.level)), n).toBeGreaterThan(0.02);
      expect(Math.max(...loud.map((e) => e.mouth)), n).toBeGreaterThan(0.4);
    }
    // the HUD's Talking row named one answering the other, and captions carried both voices
    await waitFor('the HUD and captions to have shown both', async () => {
      const talk = [...shown.talk];
      const caps = [...shown.captions];
      return (
        talk.some((x) => x.includes(`${NAMES.okafor} → ${NAMES.vance}`) || x.includes(`${NAMES.vance} → ${NAMES.okafor}`)) &&
        PAIR.every((n) => caps.some((c) => c.startsWith(`${NAMES[n]}:`)))
      );
    }, 8000);
    console.log('HUD talking rows seen: %j', [...shown.talk]);
    await mkdir(artifacts, { recursive: true });
    // the screenshot from a step back, both NPCs in view (still within both hearing radii), then back in front of Okafor
    await page.evaluate(() => (window as any).__parley.teleport([-4.2, 1.7, 11.6], [-7.4, 1.4, 11.6]));
    await page.evaluate(() => (window as any).__parley.setRenderQuality(1, 10));
    await sleep(400);
    await page.screenshot({ path: path.join(artifacts, 'med-bay-scene.png') });
    await page.evaluate(() => (window as any).__parley.setRenderQuality(2, 10));
    await page.evaluate(() => (window as any).__parley.walkTo('okafor', 2));
    expect(pageErrors).toEqual([]);
    watching = false;
    await watcher;
  }, 120_000);

  it('the player talks into the exchange: the NPCs give them the floor, and only the one who hears them best answers', async () => {
    const self = (await readout()).self;
    shown.talk.clear();
    const watcher = watch();
    const t1 = await pageNow();
    await page.keyboard.down('KeyV'); // push-to-talk: the WAV's speech goes to the server while V is held
    await sleep(1200);
    const best = (await readout()).heardBy; // synced: the NPC that hears this player best
    await sleep(1300);
    const tUp = await pageNow();
    await page.keyboard.up('KeyV');
    const answer = await waitFor('an NPC answering the player', async () => (await pairEvents('talking-to', t1)).find((e) => e.detail === self), 15_000);
    console.log('%s answers the player %d ms after V was released', answer.npc, Math.round(answer.t - tUp));
    await waitFor('the HUD to say so', async () => [...shown.talk].some((x) => x.includes(`${NAMES[answer.npc as 'okafor']} → you`)), 5000);
    // the answer is heard
    await waitFor('the answer to be heard', async () => (await trace(answer.npc!, answer.t)).some((e) => e.level > 0.02), 8000);
    await sleep(3000);
    // the floor stayed the player's: from V down until 3 s into the answer, no NPC began a turn addressed to the other
    const to = (await pairEvents('talking-to', t1)).filter((e) => e.t <= answer.t + 3000);
    console.log('talking-to since V: %j', to.map((e) => [Math.round(e.t - t1), e.npc, e.detail === self ? 'player' : e.detail]));
    expect(to.filter((e) => (PAIR as readonly string[]).includes(e.detail ?? '')), JSON.stringify(to)).toEqual([]);
    // one addressee per player turn (server/scenes/floor.ts): the NPC that hears the player best answers, and the
    // other one does not answer them too
    expect(answer.npc).toBe(best);
    expect(to.filter((e) => e.detail === self && e.npc !== answer.npc), JSON.stringify(to)).toEqual([]);
    console.log('HUD talking rows seen: %j', [...shown.talk]);
    expect(pageErrors).toEqual([]);
    watching = false;
    await watcher;
  }, 60_000);
});
