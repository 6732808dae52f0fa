/**
 * The playback worklet's clock around a flush, with the processor driven directly: a stand-in for the
 * AudioWorkletGlobalScope (sampleRate, currentTime, AudioWorkletProcessor with a port, registerProcessor) is put
 * on globalThis before the processor module loads, and process() is called one 128-sample quantum at a time.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { PlaybackClockMsg, PlaybackControlMsg } from '../../../plugin/worklets/messages.ts';

interface Processor {
  port: { onmessage: ((e: { data: PlaybackControlMsg }) => void) | null; posted: PlaybackClockMsg[] };
  process(inputs: Float32Array[][], outputs: Float32Array[][]): boolean;
}
const g = globalThis as Record<string, unknown>;
let Playback: new (o: { processorOptions?: unknown }) => Processor;

beforeAll(async () => {
  g.sampleRate = 48_000;
  g.currentTime = 0;
  g.AudioWorkletProcessor = class {
    readonly port = { onmessage: null, posted: [] as unknown[], postMessage(m: unknown) { this.posted.push(m); } };
  };
  g.registerProcessor = (_name: string, ctor: typeof Playback) => (Playback = ctor);
  await import('../../../plugin/worklets/playback-processor.ts');
});

function voice(i: number): Float32Array {
  const f = new Float32Array(1920);
  for (let n = 0; n < 1920; n++) f[n] = 0.3 * Math.sin((2 * Math.PI * 300 * (i * 1920 + n)) / 24_000);
  return f;
}

describe('playback worklet: flush', () => {
  it('parks the clock where the voice stopped, not at the next frame boundary, and reports the flush it did', () => {
    const p = new Playback({ processorOptions: { streamRate: 24_000, frameSamples: 1920, reportEveryMs: 1 } });
    const send = (data: PlaybackControlMsg) => p.port.onmessage!({ data });
    const out = [[new Float32Array(128)]];
    const quantum = () => {
      p.process([], out);
      g.currentTime = (g.currentTime as number) + 128 / 48_000;
    };
    for (let i = 100; i < 103; i++) send({ type: 'frame', i, samples: voice(i) });
    // play into frame 101, early in it
    let last: PlaybackClockMsg | undefined;
    for (let q = 0; q < 200; q++) {
      quantum();
      last = p.port.posted.at(-1);
      if (last?.playing && last.pos > 101.1 * 1920) break;
    }
    expect(last?.playing).toBe(true);
    const before = last!.pos;
    send({ type: 'flush', seq: 1 });
    const flushed = p.port.posted.at(-1)!;
    expect(flushed.flushSeq).toBe(1);
    expect(flushed.playing).toBe(false);
    // where the voice stops: the sample reaching the output next, plus the 4 ms fade (96 stream samples), plus
    // what the quantum just reported had in it; never the next frame's start (102 × 1920)
    expect(flushed.pos).toBeGreaterThan(before);
    expect(flushed.pos - before).toBeLessThan(128 / 2 + 96 + 1);
    expect(flushed.pos).toBeLessThan(102 * 1920);
    // it stays there while nothing plays, and the output falls silent after the fade
    for (let q = 0; q < 20; q++) quantum();
    expect(p.port.posted.at(-1)!.pos).toBe(flushed.pos);
    expect(Math.max(...out[0]![0]!.map(Math.abs))).toBe(0);
    // frames of the cut-off speech that come late are refused; the next utterance plays under its own index
    send({ type: 'frame', i: 101, samples: voice(101) });
    for (let i = 120; i < 124; i++) send({ type: 'frame', i, samples: voice(i) });
    const from = p.port.posted.length;
    for (let q = 0; q < 60; q++) quantum();
    // from the first quantum of the new run, the clock never reads back into what was flushed or skipped
    const run = p.port.posted.slice(from).filter((m) => m.playing);
    expect(run.length).toBeGreaterThan(10);
    for (const m of run) expect(m.pos).toBeGreaterThanOrEqual(120 * 1920);
    const now = p.port.posted.at(-1)!;
    expect(now.playing).toBe(true);
    expect(now.pos).toBeGreaterThanOrEqual(120 * 1920);
    expect(now.late).toBe(1);
  });
});
