/**
 * Reading the streaming Mimi fixtures (mimi_streaming_fixtures.py): the reference's codes and audio, and the
 * test signals rebuilt sample for sample.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LegacyRandomState } from '../../../server/cli/numpy-random.ts';
import { halfArrayToFloat } from '../../../server/engines/personaplex-onnx/half.ts';

export interface SignalRef {
  seconds: number;
  seed: number;
  samples: number;
  signal_abs_sum: number;
  signal_head: number[];
  codes: number[][];
}
export interface Reference {
  frame: number;
  signals: Record<'a' | 'b' | 'clip', SignalRef>;
}

/** mimi_windowed.py `signal`: a gliding harmonic tone with a slow envelope and a little noise (float64, then float32). */
export function signal(seconds: number, seed: number): Float32Array {
  const n = Math.trunc(24000 * seconds);
  const rs = new LegacyRandomState(seed);
  const x = new Float32Array(n);
  let cum = 0;
  for (let i = 0; i < n; i++) {
    const t = i / 24000;
    cum += 140 + 40 * Math.sin(2 * Math.PI * 0.7 * t + seed);
    const phase = (2 * Math.PI * cum) / 24000;
    const tone = 0.4 * Math.sin(phase) + 0.2 * Math.sin(2 * phase) + 0.12 * Math.sin(3 * phase) + 0.05 * Math.sin(5 * phase);
    const env = 0.5 + 0.5 * Math.sin(2 * Math.PI * 2.3 * t) ** 2;
    x[i] = tone * env + 0.01 * rs.standardNormal();
  }
  return x;
}

export function snrDb(ref: Float32Array, x: Float32Array): number {
  let s = 0;
  let e = 0;
  for (let i = 0; i < ref.length; i++) {
    s += ref[i]! ** 2;
    e += (ref[i]! - x[i]!) ** 2;
  }
  return 10 * Math.log10(s / Math.max(e, 1e-30));
}

/** The reference's streaming decode of a signal's codes: audio-<key>.f32, or .f16 where only that was kept. */
export async function readAudio(dir: string, key: string): Promise<Float32Array> {
  const f32 = path.join(dir, `audio-${key}.f32`);
  const name = existsSync(f32) ? f32 : path.join(dir, `audio-${key}.f16`);
  const buf = await readFile(name);
  if (name.endsWith('.f32')) return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  return halfArrayToFloat(new Uint16Array(buf.buffer, buf.byteOffset, buf.byteLength / 2));
}
