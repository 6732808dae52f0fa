/**
 * Cluster mode (REDIS_URL set): Colyseus's own distributed engine — the Redis presence (IPC, stats, locks) and
 * the Redis driver (the room listing every process reads) — plus one more Redis client of Parley's own for seat
 * leases and the seat board. Loaded only when configured, so one process on its own installs and needs nothing.
 */
import { Redis } from 'ioredis';
import type { MatchMakerDriver, Presence } from '@colyseus/core';
import type { ClusterConfig } from '../config.ts';
import type { Logger } from '../log.ts';
import { RedisSeatLeases, type SeatLeases } from './seat-leases.ts';

export interface ClusterLink {
  presence: Presence;
  driver: MatchMakerDriver;
  publicAddress: string | undefined;
  /** Parley's own client: seat leases, the seat board, the readiness ping */
  redis: Redis;
  leases: SeatLeases;
  /** Redis answers a PING within `timeoutMs` */
  reachable(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** who holds leases (shown in Redis); a fresh id per process */
  holder: string;
  leaseTtlMs?: number;
  log: Logger;
}

export async function connectCluster(config: ClusterConfig, o: ConnectOptions): Promise<ClusterLink> {
  const [{ RedisPresence }, { RedisDriver }] = await Promise.all([import('@colyseus/redis-presence'), import('@colyseus/redis-driver')]);
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: true });
  redis.on('error', (err) => o.log.warn({ err: err.message }, 'redis connection error'));
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw new Error(`cannot reach Redis at REDIS_URL (${redact(config.redisUrl)}): ${(err as Error).message}`);
  }
  const leases = new RedisSeatLeases(redis, { holder: o.holder, ttlMs: o.leaseTtlMs, log: o.log.child({ part: 'leases' }) });
  return {
    presence: new RedisPresence(config.redisUrl),
    driver: new RedisDriver(config.redisUrl),
    publicAddress: config.publicAddress,
    redis,
    leases,
    async reachable(timeoutMs = 1000) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
      try {
        return await Promise.race([redis.ping().then((a) => a === 'PONG', () => false), late]);
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      await leases.close();
      redis.disconnect();
    },
  };
}

/** The URL without its password, for error messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.href;
  } catch {
    return '(unparseable)';
  }
}
