/**
 * The plugin's echo canceller (WebRTC's AEC3 in WebAssembly: plugin/aec/webrtc-aec3.ts, on one clock with the
 * reference: aec3-canceller.ts, streamed block by block as the capture worklet does: capture-echo.ts) on simulated
 * rooms, run directly in Node: what it removes, what it lets through, that streaming it in render quanta changes
 * nothing, and how it refuses bad input. Figures across the whole path matrix are in bench/echo.bench.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Aec3Canceller, type Aec3CancellerOptions } from '../../plugin/aec/aec3-canceller.ts';
import { CaptureEcho, EchoFailure } from '../../plugin/aec/capture-echo.ts';
import { WebrtcAec3 } from '../../plugin/aec/webrtc-aec3.ts';
import { Resampler } from '../../protocol/dsp/resampler.ts';
import { FRAME_SAMPLES } from '../../protocol/frame.ts';
import { rms } from '../support/audio.ts';
import { aec3Module } from './support/aec3-module.ts';
import { EchoPath, type EchoPathSpec } from './support/room.ts';
import { cancelThroughRoom } from './support/through-room.ts';
import { db, erleOf, npcSpeech, playerSpeech } from './support/signals.ts';

let far: Float32Array;

beforeAll(async () => {
  far = await npcSpeech(10);
}, 60_000);

/** Play `far` through `spec` into the mic (plus `near`), cancel frame by frame. */
function run(spec: EchoPathSpec, near?: Float32Array, farSignal = far, options: Aec3CancellerOptions = {}) {
  const aec = new Aec3Canceller(aec3Module(), options);
  const r = cancelThroughRoom(aec, spec, farSignal, { near });
  const stats = { ...aec.stats };
  aec.dispose();
  return { ...r, stats };
}

describe('AEC3 (the capture worklet’s echo canceller) on a simulated room', () => {
  it('removes an NPC voice coming back through a room (120 ms, RT60 0.4 s, −6 dB): ≥ 25 dB ERLE once settled', () => {
    const { echo, out, stats } = run({ delayMs: 120, rt60: 0.4, gainDb: -6 });
    expect(erleOf(echo, out, far, { settledFrom: 6 }).steadyDb).toBeGreaterThan(25);
    // its own running figure says so too, and it found the delay (speaker to mic, within AEC3's 4 ms blocks)
    expect(stats.erleDb).toBeGreaterThan(20);
    expect(Math.abs(stats.delayMs - 120)).toBeLessThanOrEqual(20);
  });

  it('lets the player through untouched when nothing plays, about 9 ms late', async () => {
    const speech = (await playerSpeech(['Captain, what is going on with the reactor?'], { leadMs: 200, tailMs: 200 })).samples;
    const silent = new Float32Array(speech.length);
    const { out, n } = run({ delayMs: 80, rt60: 0.3, gainDb: 0 }, speech, silent);
    // the high-pass filter AudioProcessing runs with AEC3 takes a little of the lowest band
    expect(Math.abs(20 * Math.log10(rms(out, 0, n) / rms(speech, 0, n)))).toBeLessThan(1.5);
    let best = -Infinity;
    let lag = 0;
    for (let l = 0; l < 960; l++) {
      let c = 0;
      for (let i = 24_000; i < n; i++) c += speech[i - l]! * out[i]!;
      if (c > best) (best = c), (lag = l);
    }
    expect((lag / 24) | 0).toBeLessThanOrEqual(15);
  });

  it('double talk: the player speaking over the NPC keeps most of their level, and the echo under them is reduced', async () => {
    const speech = (await playerSpeech(['Wait, stop, I have a question about the valves.'], { leadMs: 5000 })).samples;
    const { echo, out, n } = run({ delayMs: 80, rt60: 0.3, gainDb: -6 }, speech);
    const s = 5000 * 24;
    const e = Math.min(n, speech.length);
    const kept = db(rms(out, s, e) ** 2, rms(speech, s, e) ** 2);
    expect(kept).toBeGreaterThan(-6);
    expect(rms(out, s, e) ** 2).toBeLessThan(rms(speech, s, e) ** 2 + rms(echo, s, e) ** 2);
  });

  it('while it learns the room, holds down what is not clearly louder than the echo; a player above it gets through', async () => {
    const loud: EchoPathSpec = { delayMs: 150, rt60: 0.5, gainDb: 0 };
    const guarded = run(loud);
    const bare = run(loud, undefined, far, { learnS: 0 });
    // from the moment AEC3 has found the echo (its delay, within about half a second) to the guard's end
    const early = (r: { echo: Float32Array; out: Float32Array }) => db(rms(r.echo, 12_000, 60_000) ** 2, rms(r.out, 12_000, 60_000) ** 2);
    // AEC3 alone lets part of it through; the guard does not
    expect(early(bare)).toBeLessThan(25);
    expect(early(guarded)).toBeGreaterThan(early(bare) + 10);
    // the player, 10 dB above the echo, 1 s in (still learning): through, not held down
    const speech = (await playerSpeech(['Wait, stop, I have a question about the valves.'], { leadMs: 1000 })).samples;
    const echoLevel = rms(guarded.echo, 24_000, 48_000);
    const player = speech.map((v) => v * ((echoLevel * 10 ** (10 / 20)) / rms(speech, 24_000, 48_000)));
    const both = run(loud, player);
    const kept = db(rms(both.out, 24_000, 48_000) ** 2, rms(player, 24_000, 48_000) ** 2);
    expect(kept).toBeGreaterThan(-6);
  });

  it('with no echo at all (a well-isolated mic), a player talking over the NPC is heard from the start', async () => {
    const speech = (await playerSpeech(['Wait, stop, I have a question about the valves.'], { leadMs: 1000 })).samples;
    const n = Math.floor(Math.min(far.length, speech.length) / FRAME_SAMPLES) * FRAME_SAMPLES;
    const aec = new Aec3Canceller(aec3Module());
    const out = new Float32Array(n);
    for (let at = 0; at < n; at += FRAME_SAMPLES) {
      aec.pushReference(far.subarray(at, at + FRAME_SAMPLES));
      out.set(aec.process(speech.slice(at, at + FRAME_SAMPLES)), at);
    }
    // no echo, so no delay found and no learning guard; and AEC3 told to assume a −20 dB echo path until it has
    // measured one (with its own default, 0 dB, it held this player 12–43 dB down for 6 s)
    expect(aec.stats.delayMs).toBeNaN();
    aec.dispose();
    const e = Math.min(n, 24_000 * 3);
    const kept = db(rms(out, 24_000, e) ** 2, rms(speech, 24_000, e) ** 2);
    console.log(`no echo: the player kept at ${kept.toFixed(1)} dB over their first 2 s`);
    expect(kept).toBeGreaterThan(-8);
  });

  it('goes on cancelling after long digital silence (its cost there is in bench echo: the dither keeps AEC3 off a 12× slower path)', () => {
    const signal = new Float32Array(far.length * 2 + 24_000 * 6);
    signal.set(far.subarray(0, 24_000 * 5));
    signal.set(far, 24_000 * 11); // 6 s of exact zeros, then the NPC again
    const { echo, out, n } = run({ delayMs: 120, rt60: 0.4, gainDb: -6 }, undefined, signal);
    expect(out.every((v) => Number.isFinite(v))).toBe(true);
    // in the silence, nothing comes out but the dither
    expect(rms(out, 24_000 * 6, 24_000 * 10)).toBeLessThan(1e-4);
    // after it, the echo is still cancelled from the start (the room was learnt before)
    const after = erleOf(echo.subarray(24_000 * 11, n), out.subarray(24_000 * 11, n), signal.subarray(24_000 * 11, n), { settledFrom: 0 });
    expect(after.steadyDb).toBeGreaterThan(20);
  });
});

describe('the capture worklet’s streaming (CaptureEcho)', () => {
  // Relearning is left out here: the worklet paces it per render quantum, so its takeover comes at another block
  // when whole frames are handed in (tests/echo/aec3-relearn.test.ts covers it in quanta).
  it('cancelling in 64-sample render quanta gives exactly what whole frames give', () => {
    const room = new EchoPath({ delayMs: 120, rt60: 0.4, gainDb: -6 });
    const n = FRAME_SAMPLES * 100;
    const echo = room.process(far.slice(0, n));
    // as in the worklet: the mic passes through a resampler identical to the reference's, so the two line up
    const cancelIn = (chunk: number) => {
      const capture = new CaptureEcho(aec3Module(), 24_000, 24_000, { relearn: false });
      const micResampler = new Resampler(24_000, 24_000);
      const out = new Float32Array(n);
      let taken = 0;
      let written = 0;
      for (let at = 0; at < n; at += chunk) {
        capture.reference([far.subarray(at, at + chunk)], chunk);
        const mic = micResampler.process(echo.subarray(at, at + chunk));
        const before = capture.pending;
        const o = capture.cancel(mic);
        // what comes back starts where the block it completes began
        expect(written).toBe(taken - before);
        taken += mic.length;
        out.set(o, written);
        written += o.length;
        expect(capture.pending).toBe(taken % capture.block);
      }
      capture.dispose();
      return out.subarray(0, written);
    };
    const quanta = cancelIn(64);
    const frames = cancelIn(FRAME_SAMPLES);
    expect(quanta.length).toBeGreaterThan(n - 2 * 240);
    // the first sample that differs, if any (a diff of 190,000 samples would take the reporter minutes)
    expect(quanta.findIndex((v, i) => v !== frames[i])).toBe(-1);
    // and it did cancel
    const m = quanta.length;
    expect(erleOf(echo.subarray(0, m), quanta, far.subarray(0, m), { settledFrom: 5 }).steadyDb).toBeGreaterThan(20);
  });

  it('keeps reference and mic together when a partial block is discarded', () => {
    const room = new EchoPath({ delayMs: 120, rt60: 0.4, gainDb: -6 });
    const n = FRAME_SAMPLES * 100;
    const echo = room.process(far.slice(0, n));
    const capture = new CaptureEcho(aec3Module(), 24_000, 24_000);
    const out = new Float32Array(n);
    let written = 0;
    for (let at = 0; at < n; at += 64) {
      capture.reference([far.subarray(at, at + 64)], 64);
      const o = capture.cancel(echo.subarray(at, at + 64));
      out.set(o, written);
      written += o.length;
      if (at === 64 * 700) {
        // the worklet drops its partial frame: the held samples go, uncancelled, and the clock skips them
        written += capture.pending;
        capture.discardPending();
      }
    }
    capture.dispose();
    const r = erleOf(echo.subarray(0, written), out.subarray(0, written), far.subarray(0, written), { settledFrom: 6 });
    expect(r.steadyDb).toBeGreaterThan(25);
  });

  it('gives every sample back, uncancelled, when the canceller fails', () => {
    const capture = new CaptureEcho(aec3Module(), 24_000, 24_000);
    const mic = new Float32Array(300).map((_, i) => Math.sin(i / 7) * 0.1);
    capture.cancel(mic.subarray(0, 100)); // held: less than a block
    capture.dispose();
    let failure: unknown;
    try {
      capture.cancel(mic.subarray(100));
    } catch (err) {
      failure = err;
    }
    expect(failure).toBeInstanceOf(EchoFailure);
    expect((failure as EchoFailure).message).toMatch(/after dispose/);
    expect(Array.from((failure as EchoFailure).samples)).toEqual(Array.from(mic));
  });
});

describe('WebrtcAec3 refuses bad input with a clear error', () => {
  it('sizes, rates, knobs, non-finite samples, use after dispose', () => {
    const m = aec3Module();
    expect(() => new WebrtcAec3(m, { sampleRate: 22_050 })).toThrow(/sample rate 22050/);
    expect(() => new WebrtcAec3(m, { config: { 'no.such.knob': 1 } })).toThrow(/unknown config knob no\.such\.knob/);
    const a = new WebrtcAec3(m);
    expect(a.blockSize).toBe(240);
    expect(a.processRate).toBe(32_000);
    expect(() => a.process(new Float32Array(1000), new Float32Array(1000))).toThrow(/not a whole number of 240-sample blocks/);
    expect(() => a.process(new Float32Array(240), new Float32Array(480))).toThrow(/differ in length/);
    // NaN and infinities from a broken source count as silence: they do not poison the canceller
    const out = a.process(new Float32Array(240).fill(NaN), new Float32Array(240).fill(Infinity));
    expect(out.every((v) => Number.isFinite(v))).toBe(true);
    const next = a.process(new Float32Array(240).fill(0.1), new Float32Array(240));
    expect(next.every((v) => Number.isFinite(v))).toBe(true);
    a.dispose();
    expect(() => a.process(new Float32Array(240), new Float32Array(240))).toThrow(/after dispose/);
    // a knob AEC3 validates is clamped, and the instance says what it runs with
    const b = new WebrtcAec3(m, { config: { 'filter.refined.length_blocks': 20, 'filter.refined_initial.length_blocks': 40 } });
    expect(b.config['filter.refined_initial.length_blocks']).toBeLessThanOrEqual(20);
    b.dispose();
  });
});
