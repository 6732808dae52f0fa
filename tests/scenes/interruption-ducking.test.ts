// Model engines: under hold / talk_over the players' voices reach a speaking NPC 20 dB down (the rehearsal engine
// keeps the policies itself and hears them unchanged).
import { describe, expect, it } from 'vitest';
import { FRAME_SAMPLES } from '../../protocol/frame.ts';
import type { InterruptionPolicy } from '../../server/persona/interruption.ts';
import { createParleyMetrics } from '../../server/metrics/parley-metrics.ts';
import { HOLD_PLAYER_GAIN } from '../../server/scenes/interruption-ducking.ts';
import { hearingWeight } from '../../server/voice/hearing.ts';
import { HearingStage, type HearingPlayer } from '../../server/voice/hearing-stage.ts';
import { amplitude, tone } from '../support/audio.ts';
import { testStream } from '../support/npc-stream.ts';
import { stubIntake } from '../support/intake.ts';

function heardLevel(policy: InterruptionPolicy | undefined, speaking: boolean, duck: boolean): number {
  const npc = testStream('n', { persona: { id: 'n', name: 'n', textPrompt: 'You are n.', voice: { kind: 'builtin', id: 'NATF0' }, ...(policy ? { whenInterrupted: policy } : {}) } });
  npc.open();
  npc.opened(1);
  if (speaking) npc.heard({ session: 1, output: tone(FRAME_SAMPLES, 200, 0.3) }, new Float32Array(FRAME_SAMPLES));
  expect(npc.seat).toMatchObject({ kind: 'live', speaking });
  const stage = new HearingStage(createParleyMetrics());
  stage.duckForPolicies = duck;
  const voice = tone(FRAME_SAMPLES, 300, 0.2);
  const player: HearingPlayer = {
    position: [0, 0, 2],
    facing: [0, 0, -1],
    intake: stubIntake(() => voice),
    state: { heardBy: '' },
  };
  stage.run([player], [npc]);
  return amplitude(npc.input, 300) / (0.2 * hearingWeight({ position: [0, 0, 0], facing: [0, 0, 1], hearingRadius: 6 }, player));
}

describe('interruption policies on model engines: ducking', () => {
  it('hold and talk_over: the player 20 dB down while the NPC speaks, full level while it listens', () => {
    for (const p of ['hold', 'talk_over'] as const) {
      expect(heardLevel(p, true, true)).toBeCloseTo(HOLD_PLAYER_GAIN, 3);
      expect(heardLevel(p, false, true)).toBeCloseTo(1, 3);
    }
  });
  it('yield, finish_phrase and no policy: unchanged; and nothing is ducked for the rehearsal engine', () => {
    for (const p of ['yield', 'finish_phrase', undefined] as const) expect(heardLevel(p, true, true)).toBeCloseTo(1, 3);
    expect(heardLevel('hold', true, false)).toBeCloseTo(1, 3);
  });
});
