/**
 * Findings 3 and 10: matchmaker bodies had no size limit; /metrics was open; CORS reflected any origin with
 * credentials; WebSocket upgrades from any origin were accepted; Express said X-Powered-By; HOST defaulted to all
 * interfaces. Now every body is bounded before it is read, origins come from an allow-list (the server's own by
 * default), /metrics needs a token (or loopback without one), and the server listens on loopback by default.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { WebSocket } from 'ws';
import type { RunningServer } from '../support/test-server.ts';
import { DEFAULT_HOST } from '../../server/app.ts';
import { guardedServer, httpUrl } from './support.ts';

let srv: RunningServer;
beforeAll(async () => {
  srv = await guardedServer({ http: { allowedOrigins: ['https://game.example'], metricsToken: 'op-token', maxBodyBytes: 16 * 1024 } });
});
afterAll(() => srv?.stop());

/** POST with a body, chunked (no Content-Length) when asked; resolves with the status. */
function post(path: string, body: Buffer, chunked = false, headers: Record<string, string> = {}): Promise<number> {
  const u = new URL(httpUrl(srv) + path);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json', ...(chunked ? {} : { 'content-length': body.length }), ...headers } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' || (e as NodeJS.ErrnoException).code === 'EPIPE' ? resolve(-1) : reject(e)));
    if (chunked) {
      req.write(body); // written before end: Node sends it chunked, with no Content-Length
      req.end();
    } else req.end(body);
  });
}

describe('HTTP surface', () => {
  it('matchmaker bodies over the limit are refused before they are read (finding 3)', async () => {
    const rss0 = process.memoryUsage().rss;
    const big = Buffer.alloc(8 * 1024 * 1024, 0x20);
    const statuses = await Promise.all([0, 1, 2, 3].map(() => post('/matchmake/joinOrCreate/bay', big)));
    expect(statuses.every((s) => s === 413 || s === -1)).toBe(true);
    expect(await post('/matchmake/joinOrCreate/bay', big, true)).toBe(411);
    // 4 × 8 MB were sent; the server kept none of it
    expect(process.memoryUsage().rss - rss0).toBeLessThan(24 * 1024 * 1024);
  });

  it('/metrics needs the operator token (finding 10)', async () => {
    expect((await fetch(httpUrl(srv) + '/metrics')).status).toBe(401);
    const ok = await fetch(httpUrl(srv) + '/metrics', { headers: { authorization: 'Bearer op-token' } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/parley_/);
  });

  it('CORS answers only allowed origins, without credentials; no X-Powered-By (finding 10)', async () => {
    const bad = await fetch(httpUrl(srv) + '/matchmake/joinOrCreate/bay', { method: 'OPTIONS', headers: { origin: 'https://evil.example' } });
    expect(bad.status).toBe(403);
    const good = await fetch(httpUrl(srv) + '/matchmake/joinOrCreate/bay', { method: 'OPTIONS', headers: { origin: 'https://game.example' } });
    expect(good.headers.get('access-control-allow-origin')).toBe('https://game.example');
    expect(good.headers.get('access-control-allow-credentials')).not.toBe('true');
    const page = await fetch(httpUrl(srv) + '/metrics', { headers: { authorization: 'Bearer op-token' } });
    expect(page.headers.get('x-powered-by')).toBeNull();
  });

  it('WebSocket upgrades from other origins are refused (finding 10)', async () => {
    const attempt = (origin: string) =>
      new Promise<string>((resolve) => {
        const ws = new WebSocket(srv.url + '/', { origin });
        ws.on('open', () => (ws.close(), resolve('open')));
        ws.on('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
        ws.on('error', () => resolve('error'));
      });
    expect(await attempt('https://evil.example')).toMatch(/403|error/);
    expect(await attempt('https://game.example')).toBe('open');
  });

  it('listens on loopback when HOST is unset (finding 10)', () => {
    expect(DEFAULT_HOST).toBe('127.0.0.1');
  });
});
