/**
 * The personaplex-server engine with Redis seat leases: two engines (two game-server processes' worth, each with
 * its own Redis client) share one stand-in PersonaPlex server of capacity 1. While one holds the seat the other
 * answers 'busy' without ever opening a socket to the server (a second connection during a prompt phase would
 * swap personas on the official server); once the first closes, the second gets the seat.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RedisSeatLeases } from '../../server/cluster/seat-leases.ts';
import { EngineFailure } from '../../server/engines/contract.ts';
import { StandInServer } from '../personaplex-server/stand-in-server.ts';
import { persona, startEngine } from '../personaplex-server/helpers.ts';
import { startRedis, type RunningRedis } from './support/redis.ts';

let redis: RunningRedis;
let srv: StandInServer;
const clients: Redis[] = [];

beforeAll(async () => {
  redis = await startRedis();
  srv = await StandInServer.start({ promptMs: 100 });
}, 20_000);

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await srv?.close();
  await redis?.stop();
});

/**
 * Health timing that a loaded machine keeps (the stand-in answers on this process's event loop, which the whole
 * parallel suite shares): this file is about leases, not about telling a dead server quickly.
 */
const TIMING = { healthIntervalMs: 150, healthTimeoutMs: 3000, failuresToDown: 3, backoffBaseMs: 150, backoffMaxMs: 1000 };

function leases(holder: string) {
  const c = new Redis(redis.url);
  clients.push(c);
  return new RedisSeatLeases(c, { holder, ttlMs: 3_000 });
}

describe('personaplex-server engines sharing a server through Redis leases', () => {
  it("a seat leased by another process is 'busy' and never gets a socket; it is free once released", async () => {
    const a = await startEngine([{ url: srv.url, capacity: 1 }], { timing: TIMING, leases: leases('a') });
    const b = await startEngine([{ url: srv.url, capacity: 1 }], { timing: TIMING, leases: leases('b') });
    try {
      const id = await a.open(persona());
      expect(srv.stats.connections).toBe(1);
      const err = await b.open(persona({ id: 'vance' })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EngineFailure);
      expect((err as EngineFailure).kind).toBe('busy');
      expect((err as Error).message).toMatch(/leased by another game server/);
      expect(srv.stats.connections).toBe(1); // b never connected
      expect([...(await b.seatsLeased()).values()]).toEqual([1]);
      await a.close(id);
      const id2 = await b.open(persona({ id: 'vance' }));
      expect(srv.stats.connections).toBe(2);
      expect(srv.stats.maxConcurrent).toBe(1);
      await b.close(id2);
      expect(await redis.client.keys('parley:seat:*')).toEqual([]);
    } finally {
      await a.dispose();
      await b.dispose();
    }
  }, 30_000);

  it('refuses an empty or whitespace-only prompt before any server is touched', async () => {
    const e = await startEngine([{ url: srv.url, capacity: 1 }]);
    const before = srv.stats.connections;
    try {
      for (const textPrompt of ['', '   \n\t']) {
        const err = await e.open(persona({ textPrompt })).catch((x: unknown) => x);
        expect((err as EngineFailure).kind).toBe('rejected');
        expect((err as Error).message).toMatch(/prompt is empty/);
        expect((err as Error).message).not.toMatch(/voice/);
      }
      expect(srv.stats.connections).toBe(before);
    } finally {
      await e.dispose();
    }
  });
});
