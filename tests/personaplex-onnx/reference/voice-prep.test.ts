/**
 * WAV voice prompts prepared as the reference prepares them. Loudness: the numbers NVIDIA/personaplex's
 * `normalize_audio` (pyloudnorm, BS.1770) gave generate.py for the same clips. Channel 0, resampling and the
 * zero-padded last frame: the reference's rules (lm.py `load_audio`, `_iterate_audio(pad=True)`); sphn's
 * resampler itself did not run here, so the resampler is checked for what it must do, not against sphn.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { integratedLoudness, normaliseLoudness } from '../../../server/engines/personaplex-onnx/loudness.ts';
import { readWavPrompt } from '../../../server/engines/personaplex-onnx/voices.ts';
import { encodeClip } from '../../../server/engines/personaplex-onnx/mimi-stream.ts';
import { rms } from '../../support/audio.ts';
import { FIXTURES, carrierFrame } from './bundle.ts';

interface Clip {
  name: string;
  rate: number;
  seconds: number;
  lufs: number;
  gain: number;
}

/** generate.py `loudness_clip`, sample for sample. */
function clip(name: string, rate: number, seconds: number): Float32Array {
  return Float32Array.from({ length: Math.trunc(rate * seconds) }, (_, i) => {
    const t = i / rate;
    if (name === 'voice-24k') return 0.3 * Math.sin(2 * Math.PI * 180 * t) * (0.5 + 0.5 * Math.sin(8 * t));
    if (name === 'gated-24k') return t < 0.8 ? 0.5 * Math.sin(2 * Math.PI * 440 * t) : t < 1.6 ? 0.015 * Math.sin(2 * Math.PI * 300 * t) : 0;
    return 0.5 * Math.sin(2 * Math.PI * 1000 * t);
  });
}

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A float32 WAV with the given channels interleaved. */
function wavF32(channels: Float32Array[], rate: number): Buffer {
  const C = channels.length;
  const n = channels[0]!.length;
  const b = Buffer.alloc(44 + 4 * n * C);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + 4 * n * C, 4);
  b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(3, 20);
  b.writeUInt16LE(C, 22);
  b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(rate * 4 * C, 28);
  b.writeUInt16LE(4 * C, 32);
  b.writeUInt16LE(32, 34);
  b.write('data', 36);
  b.writeUInt32LE(4 * n * C, 40);
  for (let i = 0; i < n; i++) for (let c = 0; c < C; c++) b.writeFloatLE(channels[c]![i]!, 44 + 4 * (i * C + c));
  return b;
}

async function tempWav(channels: Float32Array[], rate: number) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pp-wav-'));
  dirs.push(dir);
  const f = path.join(dir, 'v.wav');
  await writeFile(f, wavF32(channels, rate));
  return f;
}

describe('BS.1770 loudness as the reference measures it', async () => {
  const ref = JSON.parse(await readFile(path.join(FIXTURES, 'loudness.json'), 'utf8')) as { clips: Clip[] };

  it.each(ref.clips.map((c) => [c.name, c] as const))('%s: integrated loudness and the -24 LUFS gain match pyloudnorm', (_, c) => {
    const x = clip(c.name, c.rate, c.seconds);
    expect(Math.abs(integratedLoudness(x, c.rate) - c.lufs)).toBeLessThan(1e-3);
    const y = normaliseLoudness(x, c.rate, -24);
    const k = x.reduce((best, v, i) => (Math.abs(v) > Math.abs(x[best]!) ? i : best), 0);
    expect(Math.abs(y[k]! / x[k]! / c.gain - 1)).toBeLessThan(1e-4);
    expect(Math.abs(integratedLoudness(y, c.rate) + 24)).toBeLessThan(1e-3);
  });

  it('the gates matter: the quiet and silent parts of the gated clip do not pull its loudness down', () => {
    const c = ref.clips.find((x) => x.name === 'gated-24k')!;
    const x = clip(c.name, c.rate, c.seconds);
    const ungated = -0.691 + 10 * Math.log10(rms(x) ** 2);
    expect(c.lufs - ungated).toBeGreaterThan(3);
  });
});

describe('WAV voice prompt preparation', () => {
  it('takes channel 0, not the mix of channels', async () => {
    const left = clip('voice-24k', 24000, 1);
    const right = left.map((v) => -v); // averaging would cancel to silence
    const pcm = await readWavPrompt(await tempWav([left, right], 24000));
    expect(Math.abs(integratedLoudness(pcm, 24000) + 24)).toBeLessThan(1e-3);
    const g = pcm[1000]! / left[1000]!;
    expect(pcm.every((v, i) => Math.abs(v - g * left[i]!) < 1e-5)).toBe(true);
  });

  it('resamples 48 kHz with anti-aliasing: a 15 kHz tone (above the 12 kHz Nyquist) does not fold into the band', async () => {
    const rate = 48000;
    const n = rate; // 1 s
    const speech = Float32Array.from({ length: n }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / rate));
    const alias = Float32Array.from({ length: n }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / rate) + 0.3 * Math.sin((2 * Math.PI * 15000 * i) / rate));
    const a = await readWavPrompt(await tempWav([speech], rate));
    const b = await readWavPrompt(await tempWav([alias], rate));
    expect(a.length).toBe(24000);
    // Linear interpolation would fold 15 kHz to 9 kHz at 24 kHz; the band-limited resampler removes it, so both
    // clips come out (almost) the same after loudness normalisation.
    const diff = rms(a.map((v, i) => v - b[i]!).subarray(200, -200));
    expect(diff / rms(a)).toBeLessThan(0.02);
  });

  it('refuses a clip shorter than one 400 ms loudness block', async () => {
    await expect(readWavPrompt(await tempWav([new Float32Array(4800).fill(0.1)], 24000))).rejects.toThrow(/400 ms/);
  });

  it('zero-pads the last partial frame (the reference encodes 1.3 frames as 2)', async () => {
    const session = await ort.InferenceSession.create(path.join(FIXTURES, 'mimi_encoder.onnx'));
    try {
      const pcm = new Float32Array(1920 + 600);
      pcm.set(carrierFrame([1, 2, 3, 4, 5, 6, 7, 8]));
      pcm.set(carrierFrame([9, 10, 11, 12, 13, 14, 15, 16]).subarray(0, 600), 1920);
      const codes = await encodeClip(session, pcm);
      expect(codes.map((c) => [...c])).toEqual([
        [1, 2, 3, 4, 5, 6, 7, 8],
        [9, 10, 11, 12, 13, 14, 15, 16],
      ]);
    } finally {
      await session.release();
    }
  });
});
