/**
 * An NPC's seat at the engine, as a tagged union: exactly one of these holds at any time, and only the named
 * transitions of `NpcStream` move between them. The status players see is a pure function of the seat.
 *
 *   idle ──open──▶ opening ──opened──▶ live ──close──▶ idle
 *    │  ▲             │                  │
 *   wait release    fail / busy        fail / busy
 *    ▼  │             ▼                  ▼
 *   waiting ◀──────── failed{retryAt, failures} (or waiting, when the engine only said 'busy')
 */
import type { NpcStatus } from '../../protocol/messages.ts';
import type { SessionId } from '../engines/contract.ts';

export type Seat =
  /** nobody near: no session, nothing wanted */
  | { kind: 'idle' }
  /** someone near, no seat free (or the engine said it is busy); `failures` carries over from before */
  | { kind: 'waiting'; reason: string; notBefore: number; failures: number }
  /** the engine is opening a session (prompt phase) */
  | { kind: 'opening'; progress: number; failures: number }
  /** a session is stepped every tick; `failures` is cleared by its first good frame */
  | { kind: 'live'; session: SessionId; speaking: boolean; failures: number }
  /** the session failed; reopened at `retryAt` if someone is still near */
  | { kind: 'failed'; message: string; retryAt: number; failures: number };

export type SeatKind = Seat['kind'];

export interface StatusView {
  status: NpcStatus;
  /** 0..1 while warming, else 0 */
  progress: number;
  /** the busy reason or the error, '' otherwise */
  detail: string;
}

export function statusOf(seat: Seat): StatusView {
  switch (seat.kind) {
    case 'idle':
      return { status: 'idle', progress: 0, detail: '' };
    case 'waiting':
      return { status: 'busy', progress: 0, detail: seat.reason };
    case 'opening':
      return { status: 'warming', progress: seat.progress, detail: '' };
    case 'live':
      return { status: seat.speaking ? 'speaking' : 'listening', progress: 0, detail: '' };
    case 'failed':
      return { status: 'error', progress: 0, detail: seat.message };
  }
}

/** Failures so far on this seat (0 when idle: a fresh start). */
export function failuresOf(seat: Seat): number {
  return seat.kind === 'idle' ? 0 : seat.failures;
}
