/**
 * A stand-in for a player's voice intake (server/voice/intake.ts) in hearing-stage tests: each tick the hearing
 * stage pops the frame `next()` gives, with an uplink buffer that never missed or trimmed a frame.
 */
import type { HearingPlayer } from '../../server/voice/hearing-stage.ts';

export function stubIntake(next: () => Float32Array): NonNullable<HearingPlayer['intake']> {
  return { pop: next, buffer: { stats: { missing: 0, trimmed: 0, held: 0 }, lastWait: null } } as unknown as NonNullable<HearingPlayer['intake']>;
}
