/**
 * Echo cancellation in headless Chromium, end to end through the built plugin: a Parley test room sends the
 * NPC's voice (espeak) as it would; the page (tests/echo/browser/page.js) plays it from the NPC's mesh; a
 * test-only hook feeds the page's own output through a simulated room into the capture input, where the fake
 * microphone adds the player's speech later on. The capture worklet's per-frame powers (mic before and after
 * cancelling) give the ERLE. Used by tests/echo/browser-echo.test.ts and bench/echo.bench.ts.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, writeFile } from 'node:fs/promises';
import type { Server as HttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Server } from '@colyseus/core';
import * as esbuild from 'esbuild';
import type { Browser } from 'playwright-core';
import { Kind } from '../../../protocol/messages.ts';
import { Resampler } from '../../../protocol/dsp/resampler.ts';
import { createEncoder } from '../../../server/codec/index.ts';
import { launchChromium } from '../../plugin/support/chromium.ts';
import { serveFolder } from '../../plugin/support/static-server.ts';
import { ParleyTestRoom, startTestServer } from '../../plugin/support/test-room.ts';
import { writeWav } from '../../plugin/support/wav.ts';
import { sleep } from '../../support/time.ts';
import { erleOfFrames, npcSpeech, playerSpeech } from './signals.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface BrowserEchoResult {
  erleDb: number;
  convergedS: number;
  windows: { at: number; db: number }[];
  /** uplink level while the player talked over the NPC, and while only the NPC's echo came back (dBFS) */
  doubleTalkDbfs: number;
  echoOnlyDbfs: number;
  delayMs: number;
  costMsP50: number;
  errors: string[];
  /** what each of the page's hellos told the room about echo */
  echoSaid: (string | undefined)[];
}

/** One run: `npcSeconds` of NPC speech through the room, the player speaking from `playerAtS`. */
export async function browserEcho(
  room: { delayMs: number; rt60: number; gainDb: number },
  npcSeconds = 16,
  playerAtS = 34,
  say: (s: string) => void = () => {},
): Promise<BrowserEchoResult> {
  say('building the bundles');
  await promisify(execFile)(process.execPath, ['esbuild.config.mjs'], { cwd: root });
  const dir = await mkdtemp(path.join(tmpdir(), 'parley-echo-browser-'));
  await esbuild.build({
    entryPoints: [path.join(root, 'tests/echo/browser/page.js')],
    bundle: true,
    format: 'esm',
    outfile: path.join(dir, 'page.js'),
    alias: { 'parley-plugin': path.join(root, 'dist/plugin/parley-plugin.js') },
    logLevel: 'silent',
  });
  await writeFile(path.join(dir, 'index.html'), '<!doctype html><script type="module" src="page.js"></script>');
  await copyFile(path.join(root, 'dist/plugin/webrtc-aec3.wasm'), path.join(dir, 'webrtc-aec3.wasm'));
  // the fake microphone: silence, then the player cutting in (48 kHz, as long as the run so it never loops)
  const cut = await playerSpeech(['Wait, stop, I have a question about the coolant loop.']);
  const up = new Resampler(24_000, 48_000).process(cut.samples);
  const mic = new Float32Array(48_000 * (playerAtS + 12));
  mic.set(up, 48_000 * playerAtS);
  const wav = path.join(dir, 'mic.wav');
  await writeWav(wav, mic, 48_000);

  say('starting the room and Chromium');
  const { server: http } = await serveFolder(dir);
  const port = 23_000 + Math.floor(Math.random() * 2000);
  const colyseus: Server = await startTestServer(port);
  const browser: Browser = await launchChromium(wav);
  try {
    const page = await browser.newPage();
    const address = http.address();
    page.on('pageerror', (e) => say(`page error: ${String(e)}`));
    page.on('console', (m) => say(`page: ${m.text()}`));
    page.on('response', (r) => r.status() >= 400 && say(`page: ${r.status()} ${r.url()}`));
    await page.goto(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`);
    await page.waitForFunction(() => typeof (window as any).__start === 'function');
    await page.evaluate(([ws, o]) => (window as any).__start(ws, o), [`ws://127.0.0.1:${port}`, { aec: true, wasmUrl: '/webrtc-aec3.wasm', ...room }] as const);
    say('connected; the NPC speaks');
    const testRoom = ParleyTestRoom.current!;
    const client = testRoom.clients[0]!;
    // the NPC speaks, one frame per 80 ms, as the server would send it
    const far = await npcSpeech(npcSeconds);
    const codec = testRoom.record.recvCodec ?? 'pcm16';
    const enc = createEncoder(codec);
    const t0 = Date.now();
    for (let i = 0; i * 1920 < far.length; i++) {
      testRoom.sendTo(client, { k: Kind.NpcVoice, npc: 'alex', i, t: Date.now(), codec, data: enc.encode(far.slice(i * 1920, (i + 1) * 1920)) });
      const wait = t0 + (i + 1) * 80 - Date.now();
      if (wait > 0) await sleep(wait);
    }
    say('the player talks over the tail');
    await sleep(Math.max(0, (playerAtS + 3) * 1000 - (Date.now() - t0)));
    const log = await page.evaluate(() => (window as any).__log);
    const frames: { at: number; on: boolean; power?: { mic: number; out: number; ref: number }; delayMs: number; costMs: number }[] = log.frames;
    // ERLE from the NPC's first audible frame (its voice reaches the speakers a variable while after the first
    // frame is sent) until shortly before the player speaks
    const first = frames.findIndex((f) => (f.power?.ref ?? 0) > 1e-5);
    const echoPart = frames.slice(Math.max(0, first)).filter((f) => f.power && f.at < (playerAtS - 0.5) * 1000);
    say(`${frames.length} frames; the NPC audible from ${first >= 0 ? (frames[first]!.at / 1000).toFixed(1) : '—'} s`);
    const r = erleOfFrames(echoPart.map((f) => f.power!));
    const level = (fs: typeof frames) => 10 * Math.log10(fs.reduce((a, f) => a + (f.power?.out ?? 0), 0) / Math.max(1, fs.length) + 1e-12);
    const talk = frames.filter((f) => f.power && f.at >= (playerAtS + 0.5) * 1000 && f.at < (playerAtS + 2) * 1000);
    const costs = frames.map((f) => f.costMs).filter((c) => Number.isFinite(c)).sort((a, b) => a - b);
    return {
      erleDb: r.steadyDb,
      convergedS: r.convergedS,
      windows: r.windows,
      doubleTalkDbfs: level(talk),
      echoOnlyDbfs: level(echoPart.slice(Math.round(3000 / 80)).filter((f) => f.power!.ref > 1e-5)),
      delayMs: frames[frames.length - 1]?.delayMs ?? NaN,
      costMsP50: costs[costs.length >> 1] ?? NaN,
      errors: log.errors,
      echoSaid: testRoom.record.hellos.map((h) => h.echo),
    };
  } finally {
    await browser.close();
    await colyseus.gracefullyShutdown(false).catch(() => {});
    http.close();
  }
}

