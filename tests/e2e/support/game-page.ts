/**
 * The sample game in headless Chromium for the browser end-to-end tests: the bundles built, the player's lines
 * synthesised into a WAV the fake microphone plays (looping), a Mars-mission server, a page in push-to-talk mode,
 * connected. Software WebGL on two shared cores starves Chromium's audio thread (audio then runs slower than
 * real time), so the page renders at half resolution, 10 frames a second by default (a test can raise it for a
 * screenshot). Also the page-reading helpers the tests share (the sample game's test hook, `window.__parley`).
 */
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { resampleAligned } from '../../../protocol/dsp/resampler.ts';
import { launchChromium } from '../../plugin/support/chromium.ts';
import { writeWav } from '../../plugin/support/wav.ts';
import { playerSpeech } from '../../rehearsal/audio-tools.ts';
import { startMarsServer, type MarsServer } from './mars-server.ts';
import { sleep } from '../../support/time.ts';
import type { GameEvent, TraceEntry } from '../../../sample-game/test-hook.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface GamePage {
  srv: MarsServer;
  browser: Browser;
  page: Page;
  /** uncaught page errors and console lines, as they come */
  pageErrors: string[];
  consoleLines: string[];
  /** how long each setup step took (printed by the tests: setup is slow on a busy machine) */
  steps: string[];
}

export interface GamePageOptions {
  /** rendered frames per second (the audio thread's share of a starved machine) */
  fps?: number;
  viewport?: { width: number; height: number };
}

/**
 * Start everything. The microphone says `speech`: lines in the tests' player voice, 120 ms apart, or a 24 kHz
 * track the test made.
 */
export async function openGamePage(speech: string[] | Float32Array, opts: GamePageOptions = {}): Promise<GamePage> {
  const t0 = Date.now();
  const steps: string[] = [];
  const step = (what: string) => steps.push(`${what} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const [, track] = await Promise.all([
    promisify(execFile)(process.execPath, ['esbuild.config.mjs'], { cwd: root }),
    speech instanceof Float32Array ? speech : playerSpeech(speech, { gapMs: 120 }).then((s) => s.samples),
  ]);
  const dir = await mkdtemp(path.join(tmpdir(), 'parley-e2e-'));
  const wav = path.join(dir, 'player.wav');
  await writeWav(wav, resampleAligned(track, 24_000, 48_000), 48_000);
  step('bundles and speech');
  const srv = await startMarsServer();
  step('server');
  let browser: Browser | undefined;
  try {
    browser = await launchChromium(wav);
    step('chromium');
    const page = await browser.newPage({ viewport: opts.viewport ?? { width: 960, height: 540 } });
    const pageErrors: string[] = [];
    const consoleLines: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    await page.goto(`${srv.url}/?fps=${opts.fps ?? 10}&scale=2`);
    step('page');
    await page.check('input[name="mode"][value="push-to-talk"]');
    await page.click('#board');
    await page.waitForFunction(() => (window as any).__parley?.ready === true, undefined, { timeout: 20_000 }).catch(async (err) => {
      const shown = await page.evaluate(() => [document.getElementById('start-status')?.textContent, document.getElementById('start-error-text')?.textContent]);
      throw new Error(`the game did not connect: ${err.message}; start screen says ${JSON.stringify(shown)}; console: ${consoleLines.slice(-8).join(' | ')}`);
    });
    step('connected');
    return { srv, browser, page, pageErrors, consoleLines, steps };
  } catch (err) {
    // nothing is left running when setup fails part-way (the test's afterAll has nothing to close)
    await browser?.close().catch(() => undefined);
    await srv.stop();
    throw new Error(`${(err as Error).message} (setup: ${steps.join(', ')})`);
  }
}

/** The sample game's test hook (sample-game/test-hook.ts), read from the page. */
export function gameHook<R>(page: () => Page) {
  return {
    readout: (): Promise<R> => page().evaluate(() => (window as any).__parley.readout()),
    events: (since = 0): Promise<GameEvent[]> => page().evaluate((s) => (window as any).__parley.events(s), since),
    trace: (npc: string, since = 0): Promise<TraceEntry[]> =>
      page().evaluate(([n, s]) => (window as any).__parley.trace(s).filter((e: TraceEntry) => e.npc === n), [npc, since] as const),
    pageNow: (): Promise<number> => page().evaluate(() => performance.now()),
  };
}

/** Poll `probe` every 100 ms until it gives something; past `timeoutMs` fail, saying what `diagnose` reports. */
export async function waitFor<T>(what: string, probe: () => Promise<T>, timeoutMs: number, diagnose: () => Promise<string>): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v as NonNullable<T>;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}; ${await diagnose()}`);
    await sleep(100);
  }
}
