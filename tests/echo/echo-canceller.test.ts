/**
 * speexdsp's echo canceller (in WebAssembly, placed by the delay estimator: the server echo gate's canceller) on
 * simulated rooms, run directly in Node: what it removes, what it lets through, and how it refuses bad input.
 * Figures across the whole path matrix are in bench/echo.bench.ts. The plugin's canceller (AEC3) is tested in
 * aec3-canceller.test.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { EchoCanceller, type EchoCancellerOptions } from '../../plugin/aec/echo-canceller.ts';
import { SpeexAec } from '../../plugin/aec/speex-aec.ts';
import { rms } from '../support/audio.ts';
import type { EchoPathSpec } from './support/room.ts';
import { cancelThroughRoom } from './support/through-room.ts';
import { db, erleOf, npcSpeech, playerSpeech } from './support/signals.ts';

const wasm = readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../plugin/aec/speexdsp-aec.wasm'));
let far: Float32Array;

beforeAll(async () => {
  far = await npcSpeech(8);
}, 60_000);

/** Play `far` through `spec` into the mic (plus `near`), cancel frame by frame. */
function run(spec: EchoPathSpec, near?: Float32Array, farSignal = far, options: EchoCancellerOptions = {}) {
  const aec = new EchoCanceller(wasm, options);
  const r = cancelThroughRoom(aec, spec, farSignal, { near });
  const stats = { ...aec.stats };
  aec.dispose();
  return { ...r, stats };
}

describe('echo canceller on a simulated room', () => {
  it('removes an NPC voice coming back through a room (120 ms, RT60 0.4 s, −6 dB): ≥ 20 dB ERLE once settled', () => {
    const { echo, out } = run({ delayMs: 120, rt60: 0.4, gainDb: -6 });
    expect(erleOf(echo, out, far, { settledFrom: 4 }).steadyDb).toBeGreaterThan(20);
    // the adaptive filter does it, not the learning guard (which holds the first 2 s down): without the guard,
    // the first half second is barely touched and the settled figure is the same
    const bare = run({ delayMs: 120, rt60: 0.4, gainDb: -6 }, undefined, far, { learnS: 0 });
    const r = erleOf(bare.echo, bare.out, far, { settledFrom: 4 });
    expect(r.steadyDb).toBeGreaterThan(20);
    expect(r.windows[0]!.db).toBeLessThan(10);
  });

  it('finds the delay between the speakers and the mic', () => {
    for (const delayMs of [60, 250]) {
      const { stats } = run({ delayMs, rt60: 0.3, gainDb: -3 });
      expect(Math.abs(stats.delayMs - delayMs)).toBeLessThanOrEqual(30);
      // the filter's window starts before the echo, within reach of its first third
      expect(stats.offsetMs).toBeLessThanOrEqual(delayMs);
    }
  });

  it('lets the player through untouched when nothing plays', async () => {
    const speech = (await playerSpeech(['Captain, what is going on with the reactor?'], { leadMs: 200, tailMs: 200 })).samples;
    const silent = new Float32Array(speech.length);
    const { out, n } = run({ delayMs: 80, rt60: 0.3, gainDb: 0 }, speech, silent);
    expect(Math.abs(20 * Math.log10(rms(out, 0, n) / rms(speech, 0, n)))).toBeLessThan(1);
  });

  it('double talk: the player speaking over the NPC keeps most of their level', async () => {
    const speech = (await playerSpeech(['Wait, stop, I have a question about the valves.'], { leadMs: 5000 })).samples;
    const { echo, out, n } = run({ delayMs: 80, rt60: 0.3, gainDb: -6 }, speech);
    const s = 5000 * 24;
    const e = Math.min(n, speech.length);
    // what came out while both talked, against the player's own level: the player is not suppressed away
    const kept = db(rms(out, s, e) ** 2, rms(speech, s, e) ** 2);
    expect(kept).toBeGreaterThan(-6);
    // ... and the echo under them was not passed at its full level either
    expect(rms(out, s, e) ** 2).toBeLessThan(rms(speech, s, e) ** 2 + rms(echo, s, e) ** 2);
  });

  it('refuses bad input with a clear error', () => {
    const aec = new EchoCanceller(wasm);
    expect(() => aec.process(new Float32Array(1000))).toThrow(/not a multiple/);
    aec.dispose();
    expect(() => new SpeexAec(wasm, { sampleRate: 24000, frameSize: 0, filterLength: 10 })).toThrow(/frameSize/);
    expect(() => new SpeexAec(wasm, { sampleRate: 24000, frameSize: 480, filterLength: 4800, speed: 8 })).toThrow(/speed 8/);
    expect(() => new SpeexAec(wasm, { sampleRate: 24000, frameSize: 480, filterLength: 4800, suppressPasses: 0 })).toThrow(/suppressPasses/);
    const s = new SpeexAec(wasm, { sampleRate: 24000, frameSize: 480, filterLength: 4800 });
    expect(() => s.process(new Float32Array(10), new Float32Array(480), new Float32Array(480))).toThrow(/480 samples/);
    // NaN from a broken source is not a crash
    const out = new Float32Array(480);
    s.process(new Float32Array(480).fill(NaN), new Float32Array(480), out);
    expect(out.every((v) => Number.isFinite(v))).toBe(true);
    s.dispose();
    expect(() => s.process(new Float32Array(480), new Float32Array(480), out)).toThrow(/after dispose/);
  });
});
