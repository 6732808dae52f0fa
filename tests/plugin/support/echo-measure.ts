/**
 * Does Chromium's echo cancellation cancel what a page plays? Plays, through each output route, the same
 * periodic noise the fake microphone captures, and reports how far the captured level drops with
 * echoCancellation on, against the same route with nothing played. 0 dB = not cancelled at all.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './chromium.ts';
import { serveFolder } from './static-server.ts';
import { writeWav } from './wav.ts';

export const ECHO_ROUTES = ['webaudio', 'media-element', 'media-stream-element', 'webrtc-loopback'] as const;
export type EchoRoute = (typeof ECHO_ROUTES)[number];

const here = path.dirname(fileURLToPath(import.meta.url));

/** The same periodic noise as echo-page.js, 10 s of it, for the fake microphone. */
function periodicNoise(): Float32Array {
  const PERIOD = 4800;
  const period = new Float32Array(PERIOD);
  let seed = 12345;
  for (let i = 0; i < PERIOD; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    period[i] = ((seed / 4294967296) * 2 - 1) * 0.25;
  }
  const out = new Float32Array(PERIOD * 100);
  for (let k = 0; k < 100; k++) out.set(period, k * PERIOD);
  return out;
}

export async function measureEcho(seconds = 2, log: (s: string) => void = () => {}, extraArgs: string[] = []): Promise<Record<EchoRoute, number>> {
  const dir = await mkdtemp(path.join(tmpdir(), 'parley-echo-'));
  await writeFile(path.join(dir, 'echo-page.js'), await readFile(path.join(here, 'echo-page.js')));
  await writeFile(path.join(dir, 'index.html'), '<!doctype html><script src="echo-page.js"></script>');
  const wav = path.join(dir, 'mic.wav');
  await writeWav(wav, periodicNoise(), 48_000);
  const { server, url } = await serveFolder(dir);
  const browser = await launchChromium(wav, extraArgs);
  try {
    const page = await browser.newPage();
    await page.goto(`${url}/`);
    await page.waitForFunction(() => typeof (window as any).__echo === 'function');
    const run = (route: string, aec: boolean) =>
      page.evaluate(([r, a, s]) => (window as any).__echo(r, a, s), [route, aec, seconds] as const) as Promise<number>;
    const silent = await run('none', true);
    log(`  mic level with echo cancellation, nothing played: ${silent.toFixed(4)}`);
    log(`  track settings: ${JSON.stringify(await page.evaluate(() => (window as any).__settings))}`);
    const result = {} as Record<EchoRoute, number>;
    for (const route of ECHO_ROUTES) {
      const level = await run(route, true);
      result[route] = 20 * Math.log10(Math.max(level, 1e-6) / silent);
      log(`  ${route}: ${level.toFixed(4)} (${result[route].toFixed(1)} dB)`);
    }
    return result;
  } finally {
    await browser.close();
    server.close();
  }
}
