/**
 * Who may play, decided at matchmaking before a seat is reserved: a pluggable verifier turns the client's token
 * into an identity (a signed token from the game's own backend is the usual pattern), and per-address and
 * per-identity limits bound how fast anyone can join or make rooms and how many seats one identity holds.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Who a verified client is. */
export interface Identity {
  /** stable id from the game's backend (per-identity limits key on it) */
  id: string;
}

/** Token (from `Authorization: Bearer` or the join option `token`) → identity, or null to refuse the join. */
export type JoinVerifier = (token: string | undefined, ctx: { ip: string }) => Identity | null | Promise<Identity | null>;

/**
 * The development default: anyone may join, and their identity is their address (so per-identity limits are
 * per-address limits). Fine on a developer's machine; a public server configures a real verifier.
 */
export const devVerifier: JoinVerifier = (_token, { ip }) => ({ id: `ip:${ip}` });

/**
 * A verifier for HMAC-signed tokens `id.expiresAtMs.signature` (signature = base64url HMAC-SHA256 of
 * `id.expiresAtMs` under the shared secret), issued by the game's backend. `signToken` makes one (backend and tests).
 */
export function hmacVerifier(secret: string, now: () => number = Date.now): JoinVerifier {
  return (token) => {
    if (!token || token.length > 512) return null;
    const parts = token.split('.');
    if (parts.length !== 3) return null;
    const [id, exp, sig] = parts as [string, string, string];
    const want = Buffer.from(createHmac('sha256', secret).update(`${id}.${exp}`).digest('base64url'));
    const given = Buffer.from(sig);
    if (given.length !== want.length || !timingSafeEqual(given, want)) return null;
    if (!(Number(exp) > now()) || id === '') return null;
    return { id: `user:${id}` };
  };
}

export function signToken(secret: string, id: string, expiresAtMs: number): string {
  return `${id}.${expiresAtMs}.${createHmac('sha256', secret).update(`${id}.${expiresAtMs}`).digest('base64url')}`;
}

export interface JoinLimits {
  /** joins (seat reservations) per address per minute */
  joinsPerMinutePerIp?: number;
  /** joins per identity per minute */
  joinsPerMinutePerIdentity?: number;
  /** seats one identity may hold at once, reserved or connected, over all rooms */
  seatsPerIdentity?: number;
}

export class JoinRefused extends Error {
  constructor(
    readonly code: 'auth-failed' | 'rate-limited' | 'too-many-seats',
    message: string,
  ) {
    super(message);
  }
}

/** Sliding one-minute counters and seat counts; all in memory, bounded by the addresses seen in a minute. */
export class JoinGuard {
  private joinsByIp = new Map<string, number[]>();
  private joinsById = new Map<string, number[]>();
  private seats = new Map<string, number>();
  readonly limits: Required<JoinLimits>;

  constructor(
    readonly verify: JoinVerifier = devVerifier,
    limits: JoinLimits = {},
    private readonly now: () => number = Date.now,
  ) {
    this.limits = { joinsPerMinutePerIp: 30, joinsPerMinutePerIdentity: 20, seatsPerIdentity: 2, ...limits };
  }

  /** Verify and count one join attempt; throws JoinRefused. The caller takes a seat with `hold` once it has one. */
  async admit(token: string | undefined, ip: string): Promise<Identity> {
    const t = this.now();
    if (!this.count(this.joinsByIp, ip, t, this.limits.joinsPerMinutePerIp)) throw new JoinRefused('rate-limited', 'too many joins from this address; try again in a minute');
    let who: Identity | null;
    try {
      who = await this.verify(token, { ip });
    } catch {
      who = null;
    }
    if (!who || typeof who.id !== 'string' || who.id === '') throw new JoinRefused('auth-failed', 'not authorised to join');
    if (!this.count(this.joinsById, who.id, t, this.limits.joinsPerMinutePerIdentity)) throw new JoinRefused('rate-limited', 'too many joins; try again in a minute');
    if ((this.seats.get(who.id) ?? 0) >= this.limits.seatsPerIdentity) throw new JoinRefused('too-many-seats', 'this player already holds the seats it may');
    return who;
  }

  /** A seat taken (reserved) by `id`; call `release` when it is given up (left, or the reservation expired). */
  hold(id: string) {
    this.seats.set(id, (this.seats.get(id) ?? 0) + 1);
  }

  release(id: string) {
    const n = (this.seats.get(id) ?? 0) - 1;
    if (n > 0) this.seats.set(id, n);
    else this.seats.delete(id);
  }

  seatsOf(id: string) {
    return this.seats.get(id) ?? 0;
  }

  private count(map: Map<string, number[]>, key: string, t: number, limit: number): boolean {
    const recent = (map.get(key) ?? []).filter((at) => t - at < 60_000);
    if (map.size > 10_000) for (const [k, v] of map) if (v.every((at) => t - at >= 60_000)) map.delete(k);
    if (recent.length >= limit) {
      map.set(key, recent);
      return false;
    }
    recent.push(t);
    map.set(key, recent);
    return true;
  }
}
