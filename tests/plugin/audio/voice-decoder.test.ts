/**
 * The NPC voice decoder names each decoded frame by the packet it came from, whatever timestamps the browser's
 * decoder puts on its outputs, and a flush drops what is still queued inside the decoder.
 *
 * STAND-IN: `ChromiumLikeDecoder` stands in for WebCodecs' AudioDecoder as Chromium runs it (checked in headless
 * Chromium 2026-12: 37 Opus packets with indices 100..139 less 110..112 came out stamped 8000000, 8080000, …
 * continuously through the gap, two of them a microsecond short, e.g. 9039999): outputs in decode order, one per
 * packet, asynchronously, each stamped with the first packet's timestamp plus the 48 kHz samples output before it,
 * now and then rounded a microsecond down. Each packet's "audio" is a constant naming its frame index.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VoiceDecoder } from '../../../plugin/audio/voice-decoder.ts';
import { sleep } from '../../support/time.ts';

class ChromiumLikeDecoder {
  state: 'unconfigured' | 'configured' | 'closed' = 'unconfigured';
  private base: number | null = null;
  private out = 0;
  constructor(private readonly init: { output: (a: unknown) => void; error: (e: Error) => void }) {}
  configure() {
    this.state = 'configured';
  }
  decode(chunk: { timestamp: number; data: Uint8Array }) {
    if (this.state !== 'configured') throw new Error('decoder not configured');
    this.base ??= chunk.timestamp;
    const n = this.out++;
    const timestamp = this.base + n * 80_000 - (n % 13 === 12 ? 1 : 0);
    const value = new DataView(chunk.data.buffer, chunk.data.byteOffset).getUint16(0) / 1000;
    setTimeout(() => {
      if (this.state === 'closed') return;
      this.init.output({
        timestamp,
        numberOfFrames: 3840,
        sampleRate: 48_000,
        copyTo: (dest: Float32Array) => dest.fill(value),
        close: () => {},
      });
    }, 1);
  }
  close() {
    this.state = 'closed';
  }
}

const packet = (i: number) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setUint16(0, i);
  return b;
};
/** the frame index a delivered frame's audio came from (its middle sample, past the resampler's start-up) */
const source = (x: Float32Array) => Math.round(x[960]! * 1000);

const g = globalThis as Record<string, unknown>;
beforeEach(() => {
  g.AudioDecoder = ChromiumLikeDecoder;
  g.EncodedAudioChunk = class {
    readonly timestamp: number;
    readonly data: Uint8Array;
    constructor(init: { timestamp: number; data: Uint8Array }) {
      this.timestamp = init.timestamp;
      this.data = init.data;
    }
  };
});
afterEach(() => {
  delete g.AudioDecoder;
  delete g.EncodedAudioChunk;
});

function decoder() {
  const got: Array<[number, number]> = [];
  const errors: Error[] = [];
  const d = new VoiceDecoder((i, x) => got.push([i, source(x)]), (e) => errors.push(e));
  return { d, got, errors };
}

describe('VoiceDecoder (Opus through a Chromium-like WebCodecs decoder)', () => {
  it('delivers every packet under its own index, through a gap in the indices and stamps a microsecond off', async () => {
    const { d, got, errors } = decoder();
    const sent: number[] = [];
    for (let i = 100; i < 140; i++) if (i < 110 || i > 112) sent.push(i);
    for (const i of sent) d.decode('opus', i, packet(i));
    await sleep(50);
    expect(errors).toEqual([]);
    expect(got.map(([i]) => i)).toEqual(sent);
    // each frame's audio is that frame's packet (the first carries the resampler's start-up, so skip it)
    for (const [i, from] of got.slice(1)) expect(from, `frame ${i}`).toBe(i);
  });

  it('a flush drops the packets still inside the decoder; packets after it come out under their own index', async () => {
    const { d, got } = decoder();
    for (let i = 0; i < 6; i++) d.decode('opus', i, packet(i));
    d.flush(); // interrupted before any of them came out
    for (let i = 6; i < 9; i++) d.decode('opus', i, packet(i));
    await sleep(50);
    expect(got.map(([i]) => i)).toEqual([6, 7, 8]);
    for (const [i, from] of got.slice(1)) expect(from).toBe(i);
  });
});
