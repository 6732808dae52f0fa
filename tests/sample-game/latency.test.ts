/** The sample game's latency readouts (reply and yield), fed with 80 ms mic frames and NPC voice levels per render frame. */
import { describe, expect, it } from 'vitest';
import { LatencyMeter } from '../../sample-game/latency.ts';

/** Feed mic frames every 80 ms from `from` to `to` (ms), loud or quiet. */
function mic(m: LatencyMeter, from: number, to: number, loud: boolean, sent = true) {
  for (let t = from; t < to; t += 80) m.onMic(t, loud ? -20 : -70, sent);
}

/** Feed an NPC's voice level every 50 ms (a 20 fps render loop). */
function voice(m: LatencyMeter, npc: string, from: number, to: number, loud: boolean) {
  for (let t = from; t < to; t += 50) m.onNpcLevel(t, npc, loud ? 0.08 : 0.0005);
}

describe('LatencyMeter', () => {
  it('measures a reply from the end of the player speech to the NPC becoming audible', () => {
    const m = new LatencyMeter();
    voice(m, 'alex', 0, 2700, false); // the session streams silence meanwhile
    mic(m, 0, 2000, true);
    mic(m, 2000, 3000, false); // last loud frame at 1920
    expect(m.playerTalking).toBe(false);
    voice(m, 'alex', 2700, 4000, true);
    expect(m.lastReplyMs).toBe(2700 - 1920);
    // the same speech is not counted twice, even across a pause in the NPC's line
    voice(m, 'alex', 4000, 4500, false);
    voice(m, 'alex', 4500, 5000, true);
    expect(m.replies).toEqual([780]);
  });

  it('does not count an NPC that starts while the player is still talking, or long after', () => {
    const m = new LatencyMeter({ maxReplyMs: 3000 });
    mic(m, 0, 1000, true);
    voice(m, 'alex', 900, 1000, true);
    expect(m.lastReplyMs).toBeNull();
    voice(m, 'alex', 1000, 2000, false);
    mic(m, 1000, 6000, false);
    voice(m, 'alex', 6000, 6500, true);
    expect(m.lastReplyMs).toBeNull();
  });

  it('measures how fast a speaking NPC yields: from the player cutting in to its interrupted event', () => {
    const m = new LatencyMeter();
    m.onNpcSpeech('alex', true);
    voice(m, 'alex', 0, 1000, true);
    mic(m, 0, 1000, false);
    mic(m, 1000, 1800, true); // barge-in starts at 1000
    m.onInterrupted(1330, 'alex');
    expect(m.lastYieldMs).toBe(330);
    // an NPC that finishes on its own while the player talks is not a yield, nor is a later stray event
    mic(m, 1800, 3000, false);
    m.onNpcSpeech('vance', true);
    mic(m, 3000, 3500, true);
    m.onNpcSpeech('vance', false);
    m.onInterrupted(3600, 'vance');
    expect(m.yields).toEqual([330]);
  });

  it('times a yield from the pause that silenced the NPC, once it gave its line up; a pause it resumed from is none', () => {
    const m = new LatencyMeter();
    m.onNpcSpeech('alex', true);
    voice(m, 'alex', 0, 1000, true);
    mic(m, 0, 1000, false);
    mic(m, 1000, 1400, true); // "yeah" at 1000
    m.onPaused(1120, 'alex');
    mic(m, 1400, 2000, false);
    m.onResumed('alex');
    expect(m.yields).toEqual([]);
    mic(m, 2000, 3200, true); // a real interruption at 2000
    m.onPaused(2100, 'alex');
    m.onInterrupted(2700, 'alex');
    expect(m.yields).toEqual([100]);
  });

  it('an NPC already paused when the player is first heard, then giving its line up, yielded in 0 ms', () => {
    const m = new LatencyMeter();
    m.onNpcSpeech('alex', true);
    voice(m, 'alex', 0, 1000, true);
    mic(m, 0, 1200, false); // a soft onset under the meter's level paused it at 1000
    m.onPaused(1000, 'alex');
    mic(m, 1200, 2000, true); // the player's words, heard on the page from 1200
    m.onInterrupted(1500, 'alex');
    expect(m.yields).toEqual([0]);
  });

  it('counts the player talking before the NPC speaks as no barge-in', () => {
    const m = new LatencyMeter();
    mic(m, 0, 2000, true);
    m.onNpcSpeech('alex', true);
    m.onInterrupted(1900, 'alex');
    expect(m.yields).toEqual([]);
  });

  it('ignores quiet frames and frames that were not sent (muted, push-to-talk up)', () => {
    const m = new LatencyMeter();
    m.onNpcSpeech('alex', true);
    mic(m, 0, 1000, true, false);
    expect(m.playerTalking).toBe(false);
    m.onInterrupted(1000, 'alex');
    expect(m.yields).toEqual([]);
  });

  it('keeps a bounded window and gives its median', () => {
    const m = new LatencyMeter({ keep: 3 });
    for (const [k, reply] of [500, 700, 600, 900].entries()) {
      const t0 = k * 10_000;
      mic(m, t0, t0 + 800, true);
      mic(m, t0 + 800, t0 + 1200, false);
      voice(m, 'alex', t0 + 720 + reply, t0 + 5000, true);
      voice(m, 'alex', t0 + 5000, t0 + 6000, false);
    }
    expect(m.replies).toEqual([700, 600, 900]);
    expect(LatencyMeter.median(m.replies)).toBe(700);
    expect(LatencyMeter.median([])).toBeNull();
    expect(LatencyMeter.median([1, 2])).toBe(1.5);
  });
});
