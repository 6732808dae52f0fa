/** Writes 16-bit mono WAV files (fake microphone input for Chromium). */
import { writeFile } from 'node:fs/promises';

export async function writeWav(file: string, samples: Float32Array, rate: number): Promise<void> {
  const data = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) data.writeInt16LE(Math.round(Math.max(-1, Math.min(1, samples[i])) * 32767), i * 2);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVE', 8);
  h.write('fmt ', 12);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(data.length, 40);
  await writeFile(file, Buffer.concat([h, data]));
}

/** Speech-like test input: a 150 Hz buzz with formant-ish partials, in 400 ms syllables with 200 ms gaps. */
export function syllables(seconds: number, rate: number): Float32Array {
  const x = new Float32Array(Math.round(seconds * rate));
  for (let i = 0; i < x.length; i++) {
    const t = i / rate;
    const on = t % 0.6 < 0.4 ? Math.sin((Math.PI * (t % 0.6)) / 0.4) : 0;
    x[i] = on * (0.3 * Math.sin(2 * Math.PI * 150 * t) + 0.15 * Math.sin(2 * Math.PI * 700 * t) + 0.08 * Math.sin(2 * Math.PI * 1900 * t));
  }
  return x;
}
