/**
 * Seeded top-k sampling with temperature, one generator per session so a session's output depends only on
 * its seed and its own inputs (never on which other sessions share the batch). Mirrors the semantics of
 * moshi `utils/sampling.py` (top-k on the logits, softmax at the temperature, one multinomial draw; greedy
 * when the temperature is 0); the random stream is our own, so figures are reproducible here, not with torch.
 */
import { TopKSampler, type LogitRow, type SamplingParams } from './top-k.ts';

/** xoshiro128** with a serialisable four-word state. */
export class Rng {
  private s: Uint32Array;

  constructor(seed: number | Uint32Array) {
    if (seed instanceof Uint32Array) {
      this.s = new Uint32Array(seed);
      return;
    }
    // splitmix32 expands the seed into the state.
    this.s = new Uint32Array(4);
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if (this.s.every((v) => v === 0)) this.s[0] = 1;
  }

  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2] ^= s[0]!;
    s[3] ^= s[1]!;
    s[1] ^= s[2]!;
    s[0] ^= s[3]!;
    s[2] ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** uniform in [0, 1) with 32 bits of resolution */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  get state(): Uint32Array {
    return new Uint32Array(this.s);
  }
}

function rotl(x: number, k: number) {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export type { SamplingParams };

/** One sampler per thread: its scratch buffers are reused by every call (the engine steps one row at a time). */
const shared = new TopKSampler();

/**
 * Draws one token id from `logits[offset .. offset+size)` (float32, or fp16 bits as a Uint16Array). Ties in the
 * top-k cut go to the lower id, so the result is a pure function of the logits and the generator state.
 */
export function sampleTopK(logits: LogitRow, offset: number, size: number, p: SamplingParams, rng: Rng): number {
  return shared.sample(logits, offset, size, p, rng);
}

export function argmax(x: LogitRow, offset: number, size: number): number {
  return shared.argmax(x, offset, size);
}
