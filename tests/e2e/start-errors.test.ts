/**
 * The sample game's start screen when things go wrong, in headless Chromium: a refused microphone gets a
 * readable explanation and the listen-only choice; a game server that is not there gets its own message.
 * Only the built page is served (no game server runs: the page is pointed at a closed port).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, hasChromium } from '../plugin/support/chromium.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

/** `/` → sample-game/public, `/dist/` → dist: the same paths the game server serves. */
function serveGame(): Promise<Server> {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x').pathname;
    const file = url.startsWith('/dist/') ? path.join(root, url) : path.join(root, 'sample-game/public', url === '/' ? 'index.html' : url);
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe.skipIf(!hasChromium)('sample game start screen errors', () => {
  let http: Server;
  let browser: Browser;

  beforeAll(async () => {
    await promisify(execFile)(process.execPath, ['esbuild.config.mjs'], { cwd: root });
    http = await serveGame();
    // no --use-fake-ui-for-media-stream: the permission prompt is not auto-accepted, so the mic is refused
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--use-fake-device-for-media-stream'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    http?.close();
  });

  it('explains a refused microphone, offers listen-only, then says the server cannot be reached', async () => {
    const context = await browser.newContext({ permissions: [] });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    const port = (http.address() as AddressInfo).port;
    // a closed port stands for a game server that is gone
    await page.goto(`http://127.0.0.1:${port}/?server=ws://127.0.0.1:9&fps=5&scale=2`);
    await page.click('#board');
    await page.waitForSelector('#start-error:not([hidden])', { timeout: 15_000 });
    expect(await page.textContent('#start-error-text')).toMatch(/Microphone access was blocked.*continue without one/);
    expect(await page.isVisible('#listen-only')).toBe(true);

    await page.click('#listen-only');
    await page.waitForFunction(() => /Cannot reach the game server/.test(document.getElementById('start-error-text')?.textContent ?? ''), undefined, { timeout: 20_000 });
    const text = await page.textContent('#start-error-text');
    console.log('start screen: %s', text);
    expect(text).toMatch(/Cannot reach the game server at ws:\/\/127\.0\.0\.1:9 .*npm start/);
    expect(await page.isVisible('#start')).toBe(true); // still on the start screen, with a retry
    expect(await page.isVisible('#retry')).toBe(true);
    expect(errors).toEqual([]);
    await context.close();
  }, 45_000);
});
