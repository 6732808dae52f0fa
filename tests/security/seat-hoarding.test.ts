/**
 * Finding 1: one client took every engine session (many joins and rooms, a pose teleported next to each NPC, no
 * hello, no voice). Now joins need a verified identity, one identity holds at most two seats, clients cannot make
 * rooms, demand needs a hello (and voice outranks standing near), and poses are reached at walking speed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@colyseus/sdk';
import { TestPlayer, sleep, tone, waitFor } from '../support/test-player.ts';
import type { RunningServer } from '../support/test-server.ts';
import { PROTOCOL_VERSION } from '../../protocol/version.ts';
import { guardedServer, token } from './support.ts';

let srv: RunningServer;
const players: TestPlayer[] = [];
beforeAll(async () => {
  srv = await guardedServer({}, 1);
});
afterAll(async () => {
  for (const p of players) await p.leave();
  await srv?.stop();
});

describe('seat hoarding', () => {
  it('refuses joins without a valid token, and a third seat for one identity', async () => {
    await expect(new Client(srv.url).joinOrCreate('bay', { protocol: PROTOCOL_VERSION })).rejects.toThrow(/not authorised/);
    await expect(new Client(srv.url).joinOrCreate('bay', { protocol: PROTOCOL_VERSION, token: 'mallory.1.bad' })).rejects.toThrow(/not authorised/);
    for (let i = 0; i < 2; i++) players.push(await new TestPlayer(srv.url).join('bay', { token: token('mallory') }));
    await expect(new TestPlayer(srv.url).join('bay', { token: token('mallory') })).rejects.toThrow(/already holds/);
  });

  it('clients cannot create rooms', async () => {
    await expect(new Client(srv.url).create('bay', { protocol: PROTOCOL_VERSION, token: token('carol') })).rejects.toThrow();
  });

  it("an attacker's silent seats near the NPC yield to a player who talks", async () => {
    // the attacker's two seats stand next to alex (hello, no voice): they may take the one free session ...
    for (const p of players) {
      await p.hello();
      p.pose([0, 0, 0.1], [0, 0, -1]);
    }
    await waitFor(() => players[0]!.room.state.npcs.get('alex')?.status === 'listening', 4000, 'attacker holds alex');
    // ... but a player who talks gets it: sam is across the room, and sam's session takes the only seat
    const good = await new TestPlayer(srv.url).join('bay', { token: token('alice') });
    players.push(good);
    await good.hello();
    good.pose([30, 0, 2], [0, 0, -1]);
    good.streamVoice(tone(300, 0.2));
    await waitFor(() => good.framesFrom('sam').length >= 5, 5000, 'the talking player is served');
    expect(good.room.state.npcs.get('alex')?.status).toBe('busy');
  });

  it('a pose is reached at walking speed, never jumped to', async () => {
    const p = players[2]!;
    p.pose([0, 0, 2], [0, 0, -1]); // 30 m away: at 12 m/s that takes 2.5 s
    await sleep(500);
    const me = p.room.state.players.get(p.room.sessionId)!;
    expect(me.x).toBeGreaterThan(20);
    await waitFor(() => p.room.state.players.get(p.room.sessionId)!.x < 0.01, 5000, 'arrived');
  });
});
