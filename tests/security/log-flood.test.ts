/**
 * Finding 4: a malformed Colyseus frame (protocol byte 21) did not drop the connection, and each left log lines;
 * one connection wrote 32,507 lines in 10 s. Now a transport frame a Parley client never sends drops the
 * connection, and Colyseus's own lines are rate-limited per kind with a summary.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestPlayer, waitFor } from '../support/test-player.ts';
import type { RunningServer } from '../support/test-server.ts';
import { colyseusLogger } from '../../server/app.ts';
import { capturingLogger } from '../support/test-server.ts';
import { LogLimiter } from '../../server/guard/log-limiter.ts';
import { guardedServer, token } from './support.ts';

let srv: RunningServer;
beforeAll(async () => {
  srv = await guardedServer();
});
afterAll(() => srv?.stop());

describe('log flood', () => {
  it('a request frame (protocol byte 21) drops the connection after one line', async () => {
    const p = await new TestPlayer(srv.url).join('bay', { token: token('mallory') });
    let closed = 0;
    p.room.onLeave((code) => (closed = code));
    const lines0 = srv.logs.length;
    const raw = (p.room as unknown as { connection: { send(b: Uint8Array): void } }).connection;
    for (let i = 0; i < 300; i++) raw.send(new Uint8Array([21, i & 0x7f, 0xa1, 0x78, 0xc0]));
    await waitFor(() => closed !== 0, 2000, 'connection dropped');
    expect(closed).toBe(4400);
    const lines = srv.logs.slice(lines0);
    expect(lines.length, lines.join('\n')).toBeLessThan(10);
  });

  it("Colyseus's lines are limited per kind, with a summary of the rest", () => {
    const { log, lines } = capturingLogger();
    let now = 0;
    const limiter = new LogLimiter({ burst: 10, windowMs: 10_000 });
    const origAdmit = limiter.admit.bind(limiter);
    limiter.admit = (line: string) => origAdmit(line, now);
    const colyseus = colyseusLogger(log, limiter);
    for (let i = 0; i < 30_000; i++) colyseus.error(`room abc123XYZ, couldn't decode message ${i}\n    at Room._onMessage (Room.mjs:1)\n    at Room.x (Room.mjs:2)\n    at more`);
    expect(lines.length).toBe(10);
    expect(lines.every((l) => !l.includes('more'))).toBe(true); // stack cut to its first lines
    now = 10_001;
    colyseus.error(`room abc123XYZ, couldn't decode message 0\n    at Room._onMessage (Room.mjs:1)\n    at Room.x (Room.mjs:2)\n    at more`);
    expect(lines.some((l) => /dropped=29990 .*more Colyseus lines like this were not logged/.test(l)), lines.slice(-2).join("\n")).toBe(true);
  });
});
