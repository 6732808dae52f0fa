/** The hearing stage without a room: intake → weights → each NPC's mix, its demand, and who hears whom. */
import { describe, expect, it } from 'vitest';
import { FRAME_SAMPLES } from '../../protocol/frame.ts';
import { Kind, type Vec3 } from '../../protocol/messages.ts';
import { createEncoder } from '../../server/codec/index.ts';
import { createParleyMetrics } from '../../server/metrics/parley-metrics.ts';
import { HearingStage, type HearingPlayer } from '../../server/voice/hearing-stage.ts';
import { PlayerVoiceIntake } from '../../server/voice/intake.ts';
import { amplitude, tone } from '../support/audio.ts';
import { testStream } from '../support/npc-stream.ts';

function player(position: Vec3, facing: Vec3, freq: number | null): HearingPlayer & { feed(n: number): void } {
  const intake = freq === null ? null : new PlayerVoiceIntake('pcm16', { primeFrames: 1 });
  const enc = createEncoder('pcm16');
  let seq = 0;
  return {
    position, facing, intake, state: { heardBy: '' },
    feed(n) {
      for (let i = 0; i < n; i++) intake!.push({ k: Kind.Voice, seq: seq++, t: 0, codec: 'pcm16', data: enc.encode(tone(FRAME_SAMPLES, freq!, 0.2)) });
    },
  };
}

describe('hearing stage', () => {
  it("mixes each NPC's input from the players it hears, weighted, and sets demand and heardBy", () => {
    const stage = new HearingStage(createParleyMetrics());
    const alex = testStream('alex', { position: [0, 0, 0], hearingRadius: 6 });
    const kai = testStream('kai', { position: [20, 0, 0], hearingRadius: 6 });
    // a: 2 m in front of alex, facing him → 0.5; b: 3 m to his side, back turned → 1/3 × 0.3 = 0.1
    const a = player([0, 0, 2], [0, 0, -1], 300);
    const b = player([3, 0, 0], [1, 0, 0], 500);
    const far = player([40, 0, 0], [0, 0, 1], null); // no hello yet: silent, but still placed
    a.feed(1);
    b.feed(1);
    stage.run([a, b, far], [alex, kai]);
    expect(amplitude(alex.input, 300)).toBeCloseTo(0.2 * 0.5, 3);
    expect(amplitude(alex.input, 500)).toBeCloseTo(0.2 * 0.1, 3);
    expect(alex.demand).toEqual({ inRange: true, nearest: 2 });
    expect(kai.demand).toEqual({ inRange: false, nearest: Infinity });
    expect(amplitude(kai.input, 300)).toBe(0);
    expect([a.state.heardBy, b.state.heardBy, far.state.heardBy]).toEqual(['alex', 'alex', '']);
  });

  it('a player whose frame is missing is silence this tick, counted', async () => {
    const metrics = createParleyMetrics();
    const stage = new HearingStage(metrics);
    const alex = testStream('alex');
    const a = player([0, 0, 1], [0, 0, -1], 300);
    a.feed(1);
    stage.run([a], [alex]);
    expect(amplitude(alex.input, 300)).toBeGreaterThan(0.1);
    stage.run([a], [alex]); // nothing buffered: an underrun
    expect(amplitude(alex.input, 300)).toBe(0);
    expect(await metrics.registry.render()).toMatch(/parley_frames_missing_total 1/);
  });

  it('counts frames a stall piled up and the buffer trimmed (silence here) as dropped, reason trimmed', async () => {
    const metrics = createParleyMetrics();
    const stage = new HearingStage(metrics);
    const alex = testStream('alex');
    const intake = new PlayerVoiceIntake('pcm16'); // adaptive, as players get
    const enc = createEncoder('pcm16');
    const p: HearingPlayer = { position: [0, 0, 1], facing: [0, 0, -1], intake, state: { heardBy: '' } };
    let seq = 0;
    const push = () => intake.push({ k: Kind.Voice, seq: seq++, t: 0, codec: 'pcm16', data: enc.encode(new Float32Array(FRAME_SAMPLES)) });
    for (let k = 0; k < 5; k++) push(); // a stall: five frames at once
    for (let t = 0; t < 20; t++) {
      push();
      stage.run([p], [alex]);
    }
    expect(intake.buffer.stats.trimmed).toBeGreaterThan(0);
    expect(await metrics.registry.render()).toMatch(new RegExp(`parley_frames_dropped_total\\{[^}]*reason="trimmed"[^}]*\\} ${intake.buffer.stats.trimmed}`));
  });
});
