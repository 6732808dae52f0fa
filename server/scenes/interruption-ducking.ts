/**
 * Interruption policies on the model engines (PersonaPlex), which cannot be told to keep talking: what the server
 * can do is let the model hear less of the player while it speaks. Under `hold` and `talk_over` the players'
 * voices reach a speaking NPC's model at HOLD_PLAYER_GAIN (−20 dB), so it is much less likely to yield; whether
 * it does is still the model's choice. `yield` and `finish_phrase` pass the voices unchanged (the model yields as
 * it was trained to; finish_phrase is not enforceable). The rehearsal engine keeps every policy exactly itself
 * and gets the voices unchanged. docs/scenes.md says what each policy guarantees where.
 */
import { interruptionPolicyOf } from '../persona/interruption.ts';
import type { NpcStream } from '../sessions/npc-stream.ts';

export const HOLD_PLAYER_GAIN = 0.1;

/**
 * The gain on players' voices in this NPC's input this tick. The floor (server/scenes/floor.ts) uses the same
 * lever: a silent NPC whose group's player turn went to another NPC hears the player at HOLD_PLAYER_GAIN, so it
 * is less likely to answer too (the model still decides); while it speaks it hears the player in full, to yield.
 */
export function playerGainFor(npc: NpcStream): number {
  const policy = interruptionPolicyOf(npc.def.persona);
  const seat = npc.seat;
  const speaking = seat.kind === 'live' && seat.speaking;
  if (speaking) return policy === 'hold' || policy === 'talk_over' ? HOLD_PLAYER_GAIN : 1;
  return npc.floorElsewhere ? HOLD_PLAYER_GAIN : 1;
}
