/**
 * Measuring helpers and synthetic player speech for the rehearsal engine's tests and bench. The "player" is
 * espeak (WASM, in-process) with a voice none of the NPCs use, so no apt packages are needed.
 */
import { EspeakTts, type VoiceProfile } from '../../server/engines/rehearsal/tts.ts';
import { FRAME_SAMPLES, SAMPLE_RATE } from '../../protocol/frame.ts';

export const PLAYER_VOICE: VoiceProfile = { espeak: 'gmw/en-US+m3', pitch: 55, range: 60, rate: 175 };

import { rms } from '../support/audio.ts';

export { rms };

/** Median fundamental of the voiced 40 ms windows (normalised autocorrelation, 60–450 Hz). */
export function medianF0(x: Float32Array, sr = SAMPLE_RATE): number {
  const win = Math.round(0.04 * sr);
  const f0s: number[] = [];
  for (let s = 0; s + win * 2 < x.length; s += win) {
    if (rms(x, s, s + win) < 0.03) continue;
    let best = 0;
    let bestLag = 0;
    for (let lag = Math.round(sr / 450); lag <= Math.round(sr / 60); lag++) {
      let c = 0, n1 = 0, n2 = 0;
      for (let i = 0; i < win; i++) {
        c += x[s + i]! * x[s + i + lag]!;
        n1 += x[s + i]! ** 2;
        n2 += x[s + i + lag]! ** 2;
      }
      c /= Math.sqrt(n1 * n2) + 1e-9;
      if (c > best) (best = c), (bestLag = lag);
    }
    if (best > 0.5) f0s.push(sr / bestLag);
  }
  f0s.sort((a, b) => a - b);
  return f0s[f0s.length >> 1] ?? 0;
}

/** A player's speech: where each part starts and ends (in 24 kHz samples) inside `samples`. */
export interface Speech {
  samples: Float32Array;
  spans: { start: number; end: number }[];
}

let tts: Promise<EspeakTts> | undefined;
export const playerTts = () => (tts ??= EspeakTts.create());

/** First and last sample above `threshold` (espeak pads its audio with a little silence). */
export function activeSpan(x: Float32Array, threshold = 0.01): { start: number; end: number } {
  let start = 0;
  while (start < x.length && Math.abs(x[start]!) < threshold) start++;
  let end = x.length;
  while (end > start && Math.abs(x[end - 1]!) < threshold) end--;
  return { start, end };
}

/**
 * Build a player track: silence `leadMs`, then each sentence trimmed to its active span and separated by
 * `gapMs` of silence, then `tailMs` of silence. Spans give the true speech times (the ground truth).
 */
export async function playerSpeech(
  sentences: string[],
  opts: { leadMs?: number; gapMs?: number; tailMs?: number; gain?: number; voice?: VoiceProfile } = {},
): Promise<Speech> {
  const t = await playerTts();
  const ms = (v: number) => Math.round((v * SAMPLE_RATE) / 1000);
  const parts = sentences.map((s) => {
    const a = t.synthesize(opts.voice ?? PLAYER_VOICE, s).samples;
    const span = activeSpan(a);
    return a.subarray(span.start, span.end);
  });
  const lead = ms(opts.leadMs ?? 0), gap = ms(opts.gapMs ?? 300), tail = ms(opts.tailMs ?? 0);
  const total = lead + parts.reduce((a, p) => a + p.length, 0) + gap * (parts.length - 1) + tail;
  const samples = new Float32Array(total);
  const spans: Speech['spans'] = [];
  let pos = lead;
  parts.forEach((p, i) => {
    samples.set(p, pos);
    spans.push({ start: pos, end: pos + p.length });
    pos += p.length + (i < parts.length - 1 ? gap : 0);
  });
  const gain = opts.gain ?? 1;
  if (gain !== 1) for (let i = 0; i < samples.length; i++) samples[i]! *= gain;
  return { samples, spans };
}

/** Cut a track into 1920-sample frames, padding the last with silence. */
export function framesOf(x: Float32Array): Float32Array[] {
  const n = Math.ceil(x.length / FRAME_SAMPLES);
  return Array.from({ length: n }, (_, i) => {
    const f = new Float32Array(FRAME_SAMPLES);
    f.set(x.subarray(i * FRAME_SAMPLES, Math.min(x.length, (i + 1) * FRAME_SAMPLES)));
    return f;
  });
}

export const silentFrame = () => new Float32Array(FRAME_SAMPLES);
