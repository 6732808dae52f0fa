import { describe, expect, it } from 'vitest';
import { JitterBuffer } from '../../server/voice/jitter-buffer.ts';
import { hearingWeight } from '../../server/voice/hearing.ts';
import { HearingMixer } from '../../server/voice/mixer.ts';
import { sanitise } from '../../server/voice/intake.ts';
import { TickClock } from '../../server/sessions/tick-clock.ts';
import { SpeechTracker } from '../../server/sessions/speech-tracker.ts';
import { floatToPcm16, pcm16ToFloat } from '../../server/codec/pcm16.ts';
import { OpusFrameDecoder, OpusFrameEncoder } from '../../server/codec/opus.ts';
import { FRAME_SAMPLES } from '../../protocol/frame.ts';
import { Registry } from '../../server/metrics/registry.ts';

const frame = (v: number) => new Float32Array(FRAME_SAMPLES).fill(v);

describe('jitter buffer', () => {
  it('primes, plays in sequence order, and re-primes after an underrun', () => {
    const jb = new JitterBuffer<number>(2, 6);
    jb.push(1, 1);
    expect(jb.pop()).toBeNull(); // not primed yet
    jb.push(0, 0); // out of order
    expect([jb.pop(), jb.pop()]).toEqual([0, 1]);
    expect(jb.pop()).toBeNull(); // underrun
    expect(jb.stats.missing).toBe(1);
    jb.push(2, 2);
    expect(jb.pop()).toBeNull(); // re-priming
    jb.push(3, 3);
    expect(jb.pop()).toBe(2);
  });

  it('drops late and duplicate frames and bounds its depth', () => {
    const jb = new JitterBuffer<number>(1, 3);
    jb.push(5, 5);
    expect(jb.pop()).toBe(5);
    expect(jb.push(4, 4)).toBe('late');
    jb.push(6, 6);
    expect(jb.push(6, 6)).toBe('duplicate');
    for (let s = 7; s < 20; s++) jb.push(s, s);
    expect(jb.depth).toBe(3);
    expect(jb.stats.overflow).toBe(11);
    expect(jb.pop()).toBe(17); // the oldest were dropped, the delay stays bounded
  });
});

describe('hearing', () => {
  const npc = { position: [0, 0, 0] as [number, number, number], facing: [0, 0, 1] as [number, number, number], hearingRadius: 10 };
  it('weights by inverse distance and by whether the player faces the NPC', () => {
    expect(hearingWeight(npc, { position: [0, 0, 0.5], facing: [0, 0, -1] })).toBeCloseTo(1);
    expect(hearingWeight(npc, { position: [0, 0, 4], facing: [0, 0, -1] })).toBeCloseTo(0.25);
    expect(hearingWeight(npc, { position: [0, 0, 4], facing: [0, 0, 1] })).toBeCloseTo(0.25 * 0.3); // back turned
    expect(hearingWeight(npc, { position: [0, 0, 4], facing: [1, 0, 0] })).toBeCloseTo(0.25 * 0.65); // sideways
  });
  it('fades to zero at the hearing radius and is zero beyond', () => {
    const at = (d: number) => hearingWeight(npc, { position: [d, 0, 0], facing: [-1, 0, 0] });
    expect(at(8)).toBeCloseTo(1 / 8);
    expect(at(9)).toBeLessThan(1 / 9);
    expect(at(9)).toBeGreaterThan(0);
    expect(at(9.999)).toBeLessThan(1e-4);
    expect(at(10)).toBe(0);
    expect(at(50)).toBe(0);
  });
});

describe('mixer', () => {
  it('sums weighted inputs exactly when under full scale', () => {
    const m = new HearingMixer();
    const out = m.mix([frame(0.2), frame(-0.1)], [0.5, 1]);
    expect(out[10]).toBeCloseTo(0);
    const out2 = m.mix([frame(0.2), frame(0.1)], [0.5, 1]);
    expect(out2[10]).toBeCloseTo(0.2);
  });
  it('never clips, and recovers gain gradually afterwards', () => {
    const m = new HearingMixer();
    const loud = m.mix([frame(0.9), frame(0.9)], [1, 1]);
    expect(Math.max(...loud)).toBeLessThanOrEqual(0.98 + 1e-6);
    const after = m.mix([frame(0.3)], [1]);
    expect(Math.max(...after)).toBeLessThan(0.3); // still limited: no jump back to full gain
    for (let i = 0; i < 40; i++) m.mix([frame(0.3)], [1]);
    expect(m.mix([frame(0.3)], [1])[100]).toBeCloseTo(0.3);
  });
  it('sanitises NaN, infinities and out-of-range samples', () => {
    const x = Float32Array.from([NaN, Infinity, -Infinity, 2, -3, 0.5]);
    expect([...sanitise(x)]).toEqual([0, 1, -1, 1, -1, 0.5]);
  });
});

describe('codecs', () => {
  it('PCM16 round-trips within one step and clamps', () => {
    const x = Float32Array.from({ length: FRAME_SAMPLES }, (_, i) => Math.sin(i / 10) * 1.2);
    const back = pcm16ToFloat(floatToPcm16(x));
    for (let i = 0; i < FRAME_SAMPLES; i++) expect(Math.abs(back[i]! - Math.max(-1, Math.min(1, x[i]!)))).toBeLessThan(1 / 16000);
  });
  it('Opus carries an 80 ms frame at about 24 kbit/s', () => {
    const enc = new OpusFrameEncoder();
    const dec = new OpusFrameDecoder();
    let bytes = 0;
    let out: Float32Array = new Float32Array();
    for (let f = 0; f < 25; f++) {
      const x = Float32Array.from({ length: FRAME_SAMPLES }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * (f * FRAME_SAMPLES + i)) / 24000));
      const pkt = enc.encode(x);
      bytes += pkt.byteLength;
      out = dec.decode(pkt);
    }
    expect(out.length).toBe(FRAME_SAMPLES);
    const kbps = (bytes * 8) / 2 / 1000;
    expect(kbps).toBeLessThanOrEqual(32);
    let e = 0;
    for (const v of out) e += v * v;
    expect(Math.sqrt(e / out.length)).toBeGreaterThan(0.15); // a tone survives, not silence
  });
});

describe('tick clock', () => {
  it('keeps absolute deadlines: a stall skips the missed ticks instead of drifting or bursting', () => {
    let now = 0;
    let pending: { fn: () => void; at: number } | null = null;
    const fired: { index: number; deadline: number; lateMs: number }[] = [];
    const clock = new TickClock(80, (tick) => fired.push(tick), () => now, {
      set: (fn, ms) => (pending = { fn, at: now + ms }),
      clear: () => (pending = null),
    });
    const run = (firesAt: number) => {
      now = firesAt;
      const p = pending!;
      pending = null;
      p.fn();
    };
    clock.start();
    run(0);
    run(83); // 3 ms late
    expect(pending!.at).toBe(160); // the next deadline is on the grid, not 83 + 80
    run(160);
    run(420); // a 180 ms stall: deadlines 240 and 320 were missed
    run(pending!.at);
    clock.stop();
    expect(fired.map((f) => f.index)).toEqual([0, 1, 2, 5, 6]);
    expect(fired.map((f) => f.deadline)).toEqual([0, 80, 160, 400, 480]);
    expect(fired.map((f) => f.lateMs)).toEqual([0, 3, 0, 20, 0]);
  });
});

describe('speech tracker', () => {
  it('starts on energy or text, ends after the hangover, infers an interruption when it stops while hearing a player', () => {
    const tr = new SpeechTracker({ hangoverFrames: 3 });
    const quiet = frame(0);
    expect(tr.update(0, frame(0.2), undefined, quiet, false)).toEqual([{ e: 'speech-started', i: 0 }]);
    expect(tr.update(1, quiet, '▁hi', quiet, false)).toEqual([]);
    const player = frame(0.3);
    expect(tr.update(2, quiet, undefined, player, false)).toEqual([]);
    expect(tr.update(3, quiet, undefined, player, false)).toEqual([]);
    expect(tr.update(4, quiet, undefined, player, false)).toEqual([
      { e: 'interrupted', i: 2 },
      { e: 'speech-ended', i: 2 },
    ]);
    // an engine-reported interruption is passed on once, not inferred again
    tr.update(5, frame(0.2), undefined, quiet, false);
    expect(tr.update(6, frame(0.2), undefined, player, true)).toEqual([{ e: 'interrupted', i: 6 }]);
    for (let i = 7; i < 9; i++) tr.update(i, quiet, undefined, player, false);
    expect(tr.update(9, quiet, undefined, player, false)).toEqual([{ e: 'speech-ended', i: 7 }]);
  });
});

describe('metrics registry', () => {
  it('renders Prometheus text with labels and histogram buckets', () => {
    const r = new Registry();
    r.counter('x_total', 'xs').inc({ stream: 'voice' }, 3);
    const h = r.histogram('d_seconds', 'durations', [0.01, 0.1]);
    h.observe(0.005);
    h.observe(0.05);
    const text = r.render();
    expect(text).toContain('# TYPE x_total counter\nx_total{stream="voice"} 3');
    expect(text).toContain('d_seconds_bucket{le="0.01"} 1\nd_seconds_bucket{le="0.1"} 2\nd_seconds_bucket{le="+Inf"} 2');
    expect(text).toContain('d_seconds_count 2');
  });
});
