/**
 * End to end in headless Chromium: the built plugin bundle in a page (NullEngine scene), a WAV file as the
 * microphone, and a minimal Parley room (tests/plugin/support/test-room.ts) on a real Colyseus server.
 * Skips only when /usr/bin/chromium is missing (CI installs it: apt-get install -y chromium).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Server as HttpServer } from 'node:http';
import * as esbuild from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from '@colyseus/core';
import { createDecoder } from '../../server/codec/index.ts';
import { PROTOCOL_VERSION } from '../../protocol/version.ts';
import { hasChromium, launchChromium } from './support/chromium.ts';
import { serveFolder } from './support/static-server.ts';
import { ParleyTestRoom, startTestServer } from './support/test-room.ts';
import { syllables, writeWav } from './support/wav.ts';
import { rms } from '../support/audio.ts';
import { sleep } from '../support/time.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

async function waitFor<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v as NonNullable<T>;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

interface ClockSample {
  at: number;
  pos: number;
  playing: boolean;
  bufferedMs: number;
}

if (!hasChromium) console.warn('browser.test.ts skipped: /usr/bin/chromium is missing (apt-get install -y chromium)');

describe.skipIf(!hasChromium)('plugin in headless Chromium against a Parley room', () => {
  let browser: Browser;
  let page: Page;
  let colyseus: Server;
  let http: HttpServer;
  let pageUrl = '';
  let wsUrl = '';
  const pageErrors: string[] = [];

  beforeAll(async () => {
    // The real bundle, as a game gets it.
    await promisify(execFile)(process.execPath, ['esbuild.config.mjs'], { cwd: root });
    const dir = await mkdtemp(path.join(tmpdir(), 'parley-browser-'));
    await esbuild.build({
      entryPoints: [path.join(root, 'tests/plugin/browser/page.js')],
      bundle: true,
      format: 'esm',
      outfile: path.join(dir, 'page.js'),
      alias: { 'parley-plugin': path.join(root, 'dist/plugin/parley-plugin.js') },
      logLevel: 'silent',
    });
    await writeFile(path.join(dir, 'index.html'), '<!doctype html><script type="module" src="page.js"></script>');
    const wav = path.join(dir, 'mic.wav');
    await writeWav(wav, syllables(10, 48_000), 48_000);
    ({ server: http } = await serveFolder(dir));
    const port = 21_000 + Math.floor(Math.random() * 2000);
    colyseus = await startTestServer(port);
    browser = await launchChromium(wav);
    page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    const address = http.address();
    pageUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
    wsUrl = `ws://127.0.0.1:${port}`;
    await page.goto(pageUrl);
    await page.waitForFunction(() => typeof (window as any).__start === 'function');
    // The flush test queues ten frames at once: a wide overrun margin keeps them all (by default the playout
    // buffer drops all but the newest ~3 of such a burst, plays those and the flush has little left to cut).
    await page.evaluate((ws) => (window as any).__start(ws, { voice: { jitter: { overrunMarginMs: 1000 } } }), wsUrl);
  }, 90_000);

  afterAll(async () => {
    await page?.evaluate(() => (window as any).__parley?.dispose()).catch(() => {});
    await browser?.close();
    await colyseus?.gracefullyShutdown(false).catch(() => {});
    http?.close();
  });

  it('joins with the protocol version, says Hello, gets Welcome (Opus both ways, WebCodecs present)', async () => {
    const room = await waitFor('the room', () => ParleyTestRoom.current);
    await waitFor('hello', () => room.record.hellos.length > 0);
    expect(room.record.hellos[0].v).toBe(PROTOCOL_VERSION);
    expect(room.record.hellos[0].send).toContain('opus');
    expect(room.record.hellos[0].recv).toContain('opus');
    // this page has no canceller module beside it (its fetch fails), so the client tells the room it does not
    // cancel its echo, and the server's gate would take over (browser-echo.test.ts sees 'cancelled')
    expect(room.record.hellos[0].echo).toBe('none');
    // connect() resolves only once welcomed
    expect(await page.evaluate(() => (window as any).__parley.state)).toBe('ready');
    const welcome = await page.evaluate(() => (window as any).__parley.welcome);
    expect(welcome.engine).toBe('plugin-test-room');
    expect(welcome.send).toBe('opus');
    const log = await page.evaluate(() => (window as any).__log);
    expect(log.ctxRate === 48_000 || log.ctxRate === 44_100).toBe(true); // the context keeps its native rate
    expect(pageErrors).toEqual([]);
  });

  it('mic frames reach the room at 12.5 per second with consecutive sequence numbers, as 80 ms Opus packets', async () => {
    const room = ParleyTestRoom.current!;
    await waitFor('voice frames', () => room.record.voice.length > 5);
    const start = room.record.voice.length;
    await sleep(4000);
    const frames = room.record.voice.slice(start);
    const seconds = (frames.at(-1)!.arrival - frames[0].arrival) / 1000;
    const rate = (frames.length - 1) / seconds;
    console.log('mic frames: %d in %s s = %s/s; seq %d..%d', frames.length, seconds.toFixed(2), rate.toFixed(2), frames[0].seq, frames.at(-1)!.seq);
    // 4 s × 12.5 = 50; the bounds leave room for a heavily loaded CI machine, not for a wrong frame size
    expect(frames.length).toBeGreaterThanOrEqual(42);
    expect(rate).toBeGreaterThan(10.5);
    expect(rate).toBeLessThan(14.5);
    frames.forEach((f, k) => expect(f.seq).toBe(frames[0].seq + k));
    // capture times: 80 ms apart on average
    const spacing = (frames.at(-1)!.t - frames[0].t) / (frames.length - 1);
    expect(spacing).toBeGreaterThan(76);
    expect(spacing).toBeLessThan(84);
    // every packet is Opus holding exactly one 80 ms frame, and the fake mic's syllables are in it
    const dec = createDecoder('opus');
    let loud = 0;
    for (const f of frames) {
      expect(f.codec).toBe('opus');
      const pcm = dec.decode(f.data);
      expect(pcm.length).toBe(1920);
      if (rms(pcm) > 0.01) loud++;
    }
    expect(loud).toBeGreaterThan(frames.length / 3);
    expect(room.record.errors).toEqual([]);
  });

  it('reports the pose while the player moves', async () => {
    const room = ParleyTestRoom.current!;
    await waitFor('poses', () => room.record.poses.length >= 3);
    const last = room.record.poses.at(-1)!;
    expect(last.p[0]).toBeGreaterThan(0); // the camera walks along +x
    expect(last.p[1]).toBeCloseTo(1.7, 5);
    expect(last.f[2]).toBeCloseTo(1, 3); // facing +z
    // throttled to at most 10 a second, and only sent on change (the camera moves 4 times a second)
    const poses = room.record.poses;
    const perSecond = (poses.length - 1) / ((poses.at(-1)!.arrival - poses[0].arrival) / 1000);
    expect(perSecond).toBeLessThan(10.5);
  });

  it('plays NPC frames sent to the page: the samples-played clock advances on the stream scale', async () => {
    const room = ParleyTestRoom.current!;
    room.event('guard', { e: 'speech-started', i: 0 });
    await room.speak('guard', 0, 30, { text: true }); // 2.4 s, in real time
    // all 30 frames are heard: the clock ends exactly at the end of frame 29 (slower on a loaded machine)
    await page.waitForFunction(() => (window as any).__log.clock.at(-1)?.pos === 30 * 1920, undefined, { timeout: 10_000 });
    const clock: ClockSample[] = await page.evaluate(() => (window as any).__log.clock);
    const played = clock.filter((c) => c.playing);
    console.log('NPC clock: %d samples, playing in %d, last pos %s', clock.length, played.length, clock.at(-1)?.pos);
    expect(played.length).toBeGreaterThan(10);
    // it only moves forward, and never faster than the stream rate (24 samples per ms; underruns on a busy
    // machine can only make it slower)
    played.slice(1).forEach((c, k) => expect(c.pos).toBeGreaterThanOrEqual(played[k].pos));
    const a = played[2];
    const b = played.at(-3)!;
    const rate = (b.pos - a.pos) / (b.at - a.at);
    expect(rate).toBeGreaterThan(0);
    expect(rate).toBeLessThan(26);
    const events = await page.evaluate(() => (window as any).__log.events);
    expect(events.some((e: { name: string }) => e.name === 'SpeechStarted')).toBe(true);
    expect(events.filter((e: { name: string }) => e.name === 'Text').length).toBeGreaterThanOrEqual(7);
    expect(events.some((e: { name: string; i: number }) => e.name === 'Visemes' && e.i === 0)).toBe(true);
  });

  it('on interrupted, flushes the NPC buffer at once', async () => {
    const room = ParleyTestRoom.current!;
    await room.speak('guard', 100, 10, { burst: true }); // 800 ms queued at once
    await sleep(150);
    room.event('guard', { e: 'interrupted', i: 101 });
    await sleep(500);
    const log = await page.evaluate(() => (window as any).__log);
    const last: ClockSample = log.clock.at(-1);
    expect(log.events.some((e: { name: string }) => e.name === 'Interrupted')).toBe(true);
    expect(last.playing).toBe(false);
    expect(last.bufferedMs).toBe(0);
    // it played the burst (from its first frame), then stopped within the first few of the ten frames instead of
    // playing them all
    expect(log.clock.some((c: ClockSample) => c.playing && c.pos >= 100 * 1920 && c.pos < 102 * 1920)).toBe(true);
    expect(last.pos).toBeLessThan(104 * 1920);
    expect(log.errors).toEqual([]);
  });

  it('mute and push-to-talk stop the uplink; sequence numbers keep counting through the pause', async () => {
    const room = ParleyTestRoom.current!;
    const frames = () => room.record.voice.length;
    await page.evaluate(() => ((window as any).__parley.mic.muted = true));
    await sleep(300); // a frame may be in the encoder
    const muted = frames();
    await sleep(800);
    expect(frames()).toBe(muted);
    const levels = await page.evaluate(() => (window as any).__log.levels.slice(-5));
    expect(levels.every((l: { sent: boolean }) => !l.sent)).toBe(true); // the meter keeps running, unsent
    await page.evaluate(() => ((window as any).__parley.mic.muted = false));
    await waitFor('frames after unmute', () => frames() > muted + 3);
    const resumed = room.record.voice.slice(muted);
    expect(resumed[0].seq - room.record.voice[muted - 1].seq).toBeGreaterThanOrEqual(10); // ~1.1 s of frames unsent
    resumed.slice(1).forEach((f, k) => expect(f.seq).toBe(resumed[k].seq + 1));

    await page.evaluate(() => ((window as any).__parley.mic.mode = 'push-to-talk'));
    await sleep(300);
    const released = frames();
    await sleep(600);
    expect(frames()).toBe(released);
    await page.evaluate(() => (window as any).__parley.mic.talking = true);
    await waitFor('frames while talking', () => frames() > released + 3);
    await page.evaluate(() => {
      const p = (window as any).__parley;
      p.mic.talking = false;
      p.mic.mode = 'open-mic';
    });
  });

  it('dispose() releases the mic and the room session', async () => {
    const room = ParleyTestRoom.current!;
    const state = await page.evaluate(async () => {
      const p = (window as any).__parley;
      const stream: MediaStream | undefined = (p as any).mic?.capture?.stream; // ParleyMic's MicCapture (private)
      p.dispose();
      return { tracks: stream?.getTracks().map((t) => t.readyState) ?? [], ctx: p.audioContext.state };
    });
    expect(state.tracks.length).toBeGreaterThan(0);
    expect(state.tracks.every((s: string) => s === 'ended')).toBe(true);
    await sleep(300); // a frame already on the wire may still land
    const count = room.record.voice.length;
    await sleep(500);
    expect(room.record.voice.length).toBe(count);
    await waitFor('the client to leave', () => room.clients.length === 0, 5000);
  });

  it('falls back to PCM16 both ways when Opus is not offered', async () => {
    await page.evaluate(() => (window as any).__parley?.dispose()).catch(() => {});
    await page.close();
    ParleyTestRoom.current = null;
    page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(pageUrl);
    await page.waitForFunction(() => typeof (window as any).__start === 'function');
    await page.evaluate((ws) => (window as any).__start(ws, { codecs: { send: ['pcm16'], recv: ['pcm16'] } }), wsUrl);
    const room = await waitFor('the PCM16 session', () => ParleyTestRoom.current);
    const since = ParleyTestRoom.joinedAt;
    await waitFor('PCM16 frames', () => room.record.voice.length > since.voice + 10);
    expect(room.record.hellos[since.hellos].send).toEqual(['pcm16']);
    expect(room.record.voice.slice(since.voice).every((v) => v.codec === 'pcm16' && v.data.byteLength === 3840)).toBe(true);
    await room.speak('guard', 0, 10);
    // all ten frames are heard: the clock ends exactly at the end of frame 9
    await page.waitForFunction(() => (window as any).__log.clock.at(-1)?.pos === 10 * 1920, undefined, { timeout: 10_000 }).catch(async (err) => {
      console.log('PCM16 clock tail', await page.evaluate(() => JSON.stringify({ c: (window as any).__log.clock.slice(-3), e: (window as any).__log.errors, s: (window as any).__parley?.state })));
      throw err;
    });
    expect(room.record.errors).toEqual([]);
    await page.evaluate(() => (window as any).__parley.dispose());
  });

  it('echoLoopback routes the voices through a local WebRTC loopback (the echo workaround) and still plays', async () => {
    await page.evaluate(() => (window as any).__parley?.dispose()).catch(() => {});
    await page.close();
    ParleyTestRoom.current = null;
    page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(pageUrl);
    await page.waitForFunction(() => typeof (window as any).__start === 'function');
    await page.evaluate((ws) => (window as any).__start(ws, { echoLoopback: true }), wsUrl);
    const room = await waitFor('the loopback session', () => ParleyTestRoom.current);
    await waitFor('its hello', () => room.record.hellos.length > ParleyTestRoom.joinedAt.hellos);
    await room.speak('guard', 0, 15);
    await page.waitForFunction(() => (window as any).__log.clock.at(-1)?.pos > 12 * 1920, undefined, { timeout: 10_000 });
    const out = await page.evaluate(async () => {
      const p = (window as any).__parley;
      return { bytes: await p.loopback.bytesReceived(), paused: p.loopback.element.paused, clock: (window as any).__log.clock.at(-1) };
    });
    console.log('loopback: %d bytes received, element paused %s, clock %d', out.bytes, out.paused, out.clock?.pos);
    expect(out.bytes).toBeGreaterThan(5000); // 1.2 s of stereo Opus went through the peer connection
    expect(out.paused).toBe(false);
    expect(out.clock.pos).toBeGreaterThan(0);
    expect(pageErrors).toEqual([]);
  });
});
