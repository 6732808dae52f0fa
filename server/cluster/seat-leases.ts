/**
 * Seats on shared model servers, leased through Redis so that exactly one game-server process talks to a given
 * PersonaPlex server seat at a time. The official server stores each connection's text and voice prompts in
 * state shared by every connection before it takes its one-conversation lock, so a second client that connects
 * during another's prompt phase silently gives that conversation its own persona: a seat must never be shared,
 * not even for the seconds of a handshake.
 *
 * A lease is one Redis key per seat (`parley:seat:<server>#<n>`), set with NX and a short TTL and renewed by a
 * heartbeat; a process that dies stops renewing, so its seats free within `ttlMs`. Renew and release compare
 * the holder's token first (Lua), so a process never extends or deletes a lease someone else now holds.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { silentLogger, type Logger } from '../log.ts';

/** A held seat. `lost` is called once if the heartbeat finds the lease gone (the holder must stop using it). */
export interface SeatLease {
  readonly server: string;
  readonly seat: number;
  onLost(fn: () => void): void;
  release(): Promise<void>;
}

export interface SeatLeases {
  /** A free seat of `server` (capacity `capacity`), or null when every seat is leased (by anyone). */
  acquire(server: string, capacity: number): Promise<SeatLease | null>;
  /** Seats of `server` leased by any process now (for metrics and placement). */
  leased(server: string, capacity: number): Promise<number>;
  close(): Promise<void>;
}

/** One process, nothing shared: every seat the engine's own bookkeeping allows is granted. */
export class LocalSeatLeases implements SeatLeases {
  private held = new Map<string, Set<number>>();
  async acquire(server: string, capacity: number): Promise<SeatLease | null> {
    const seats = this.held.get(server) ?? new Set<number>();
    this.held.set(server, seats);
    for (let seat = 0; seat < capacity; seat++) {
      if (seats.has(seat)) continue;
      seats.add(seat);
      let done = false; // a second release must not free a seat someone took since
      return {
        server,
        seat,
        onLost: () => undefined,
        release: async () => {
          if (!done) seats.delete(seat);
          done = true;
        },
      };
    }
    return null;
  }
  async leased(server: string): Promise<number> {
    return this.held.get(server)?.size ?? 0;
  }
  async close() {}
}

// KEYS[1] = seat key, ARGV[1] = token, ARGV[2] = ttl ms
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export interface RedisSeatLeasesOptions {
  /** a lease not renewed this long frees (a dead process's seats free within it) */
  ttlMs?: number;
  /** renew period; well under ttlMs so one slow renewal does not lose the lease */
  heartbeatMs?: number;
  /** who holds a lease (shown in the key's value; the process id) */
  holder: string;
  prefix?: string;
  log?: Logger;
}

interface Held {
  key: string;
  token: string;
  lost: (() => void)[];
  done: boolean;
  renewedAt: number;
}

export class RedisSeatLeases implements SeatLeases {
  private readonly ttlMs: number;
  private readonly prefix: string;
  private readonly holder: string;
  private readonly log: Logger;
  private held = new Set<Held>();
  private timer: NodeJS.Timeout;

  constructor(private readonly redis: Redis, o: RedisSeatLeasesOptions) {
    this.ttlMs = o.ttlMs ?? 3_000;
    const beat = o.heartbeatMs ?? Math.floor(this.ttlMs / 3);
    if (!(beat > 0 && beat * 2 <= this.ttlMs)) throw new Error(`seat lease heartbeat (${beat} ms) must be at most half the TTL (${this.ttlMs} ms)`);
    this.prefix = o.prefix ?? 'parley:seat:';
    this.holder = o.holder;
    this.log = o.log ?? silentLogger;
    this.timer = setInterval(() => void this.renewAll(), beat);
    this.timer.unref();
  }

  private key(server: string, seat: number) {
    return `${this.prefix}${server}#${seat}`;
  }

  async acquire(server: string, capacity: number): Promise<SeatLease | null> {
    for (let seat = 0; seat < capacity; seat++) {
      const key = this.key(server, seat);
      const token = `${this.holder}:${randomUUID()}`;
      const ok = await this.redis.set(key, token, 'PX', this.ttlMs, 'NX');
      if (ok !== 'OK') continue;
      const h: Held = { key, token, lost: [], done: false, renewedAt: Date.now() };
      this.held.add(h);
      return {
        server,
        seat,
        onLost: (fn) => void h.lost.push(fn),
        release: () => this.release(h),
      };
    }
    return null;
  }

  async leased(server: string, capacity: number): Promise<number> {
    if (capacity <= 0) return 0;
    const keys = Array.from({ length: capacity }, (_, i) => this.key(server, i));
    const n = await this.redis.exists(...keys);
    return n;
  }

  private async release(h: Held) {
    if (h.done) return;
    h.done = true;
    this.held.delete(h);
    await this.redis.eval(RELEASE, 1, h.key, h.token).catch((err) => this.log.warn({ err: String(err), key: h.key }, 'seat lease release failed (it expires by itself)'));
  }

  private async renewAll() {
    await Promise.all(
      [...this.held].map(async (h) => {
        let kept: unknown;
        try {
          kept = await this.redis.eval(RENEW, 1, h.key, h.token, String(this.ttlMs));
        } catch (err) {
          // Redis unreachable: keep using the seat until the TTL could have passed, then give it up
          this.log.warn({ err: String(err), key: h.key }, 'seat lease renewal failed');
          if (Date.now() - h.renewedAt < this.ttlMs) return;
          kept = 0;
        }
        if (h.done) return;
        if (kept === 1) {
          h.renewedAt = Date.now();
          return;
        }
        h.done = true;
        this.held.delete(h);
        this.log.warn({ key: h.key }, 'seat lease lost (expired); its session stops');
        for (const fn of h.lost) fn();
      }),
    );
  }

  async close() {
    clearInterval(this.timer);
    await Promise.all([...this.held].map((h) => this.release(h)));
  }
}
