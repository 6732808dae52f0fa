/**
 * Finding 5: 31 joinById seat reservations that never connected locked a 32-player room for 15 s. Now one
 * identity holds at most two seats (reserved or connected) and a reservation expires in 3 s.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestPlayer, sleep } from '../support/test-player.ts';
import type { RunningServer } from '../support/test-server.ts';
import { PROTOCOL_VERSION } from '../../protocol/version.ts';
import { guardedServer, httpUrl, token } from './support.ts';

let srv: RunningServer;
let host: TestPlayer;
beforeAll(async () => {
  srv = await guardedServer();
  host = await new TestPlayer(srv.url).join('bay', { token: token('host') });
});
afterAll(async () => {
  await host?.leave();
  await srv?.stop();
});

const reserve = (roomId: string, who: string) =>
  fetch(`${httpUrl(srv)}/matchmake/joinById/${roomId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ protocol: PROTOCOL_VERSION, token: token(who) }),
  }).then((r) => r.status);

describe('room lock', () => {
  it('reservations that never connect cannot fill the room, and expire', async () => {
    const roomId = host.room.roomId;
    const statuses = await Promise.all(Array.from({ length: 31 }, () => reserve(roomId, 'mallory')));
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(2);
    // a real player still gets in by id
    const real = await new TestPlayer(srv.url);
    real.room = await (await import('@colyseus/sdk').then((m) => new m.Client(srv.url))).joinById(roomId, { protocol: PROTOCOL_VERSION, token: token('bob') });
    expect(real.room.roomId).toBe(roomId);
    await real.room.leave();
    // and the attacker's reservations lapse within the 3 s reservation time
    await sleep(3500);
    expect(await reserve(roomId, 'mallory')).toBe(200);
  });
});
