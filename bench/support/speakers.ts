/**
 * Player speech for the turn-taking bench, from three Debian synthesizers (espeak-ng, Flite, Festival) with
 * several voices, rates and pitches, so no decision is tuned to one voice's quirks. Each phrase is synthesised
 * once into a cache directory (os.tmpdir()/parley-turn-stimuli, or PARLEY_STIMULI_DIR) and read back as 24 kHz
 * mono float samples through sox.
 *
 * Speakers are split in two: `tuning` (the turn-end weights were set on these) and `heldOut` (never looked at
 * while tuning: other synthesizer voices, Festival as a whole, other rates and levels).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Speaker {
  name: string;
  engine: 'espeak-ng' | 'flite' | 'festival';
  voice: string;
  /** speaking rate: words per minute for espeak, duration stretch (1 = normal, > 1 slower) for Flite and Festival */
  rate: number;
  /** espeak pitch 0–99 */
  pitch?: number;
  /** linear gain applied after synthesis (player level) */
  gain: number;
}

export const TUNING_SPEAKERS: Speaker[] = [
  { name: 'espeak us m3', engine: 'espeak-ng', voice: 'en-US+m3', rate: 170, pitch: 50, gain: 1 },
  { name: 'espeak rp f2', engine: 'espeak-ng', voice: 'en-GB-x-rp+f2', rate: 155, pitch: 60, gain: 0.5 },
  { name: 'espeak en f4 fast', engine: 'espeak-ng', voice: 'en+f4', rate: 200, pitch: 70, gain: 0.8 },
  { name: 'flite slt', engine: 'flite', voice: 'slt', rate: 1, gain: 0.7 },
  { name: 'flite kal16 slow', engine: 'flite', voice: 'kal16', rate: 1.25, gain: 1.2 },
];

export const HELD_OUT_SPEAKERS: Speaker[] = [
  { name: 'festival kal', engine: 'festival', voice: 'kal_diphone', rate: 1, gain: 0.9 },
  { name: 'festival kal slow', engine: 'festival', voice: 'kal_diphone', rate: 1.3, gain: 0.4 },
  { name: 'flite awb', engine: 'flite', voice: 'awb', rate: 1.1, gain: 0.8 },
  { name: 'flite rms', engine: 'flite', voice: 'rms', rate: 0.9, gain: 1.1 },
  { name: 'espeak 029 m2', engine: 'espeak-ng', voice: 'en-029+m2', rate: 185, pitch: 40, gain: 0.6 },
  { name: 'espeak scot f3 slow', engine: 'espeak-ng', voice: 'en-GB-scotland+f3', rate: 140, pitch: 55, gain: 1 },
];

export function stimuliDir(): string {
  return process.env.PARLEY_STIMULI_DIR ?? path.join(os.tmpdir(), 'parley-turn-stimuli');
}

const SR = 24_000;

/** Marks a mid-sentence pause in a phrase given to `speak`. */
export const PAUSE = ' | ';

/** One phrase from one speaker: 24 kHz samples trimmed to the speech (the synthesizer's padding removed), gain applied. */
export async function speak(s: Speaker, text: string): Promise<Float32Array> {
  const dir = stimuliDir();
  await mkdir(dir, { recursive: true });
  const key = createHash('sha1').update(JSON.stringify([s.engine, s.voice, s.rate, s.pitch, text])).digest('hex').slice(0, 16);
  const raw = path.join(dir, `${key}.f32`);
  if (!(await exists(raw))) {
    const wav = path.join(dir, `${key}.wav`);
    // PAUSE marks a mid-sentence pause: each synthesizer's own break inside one utterance, so the speech before it
    // has the synthesizer's phrase-internal prosody, not a sentence end.
    const parts = text.split(PAUSE).map((p) => p.trim().replace(/[<>&"\\]/g, ''));
    if (s.engine === 'espeak-ng') {
      const ssml = `<speak>${parts.join(' <break time="1000ms"/> ')}</speak>`;
      await run('espeak-ng', ['-m', '-v', s.voice, '-s', String(s.rate), '-p', String(s.pitch ?? 50), '-w', wav, ssml]);
    } else if (s.engine === 'flite') {
      // Flite's SSML break ends the utterance (final intonation before it), so the pause is cut into the whole
      // sentence instead: at the end of the prefix's last phone, found from Flite's own segment timings.
      const args = ['-voice', s.voice, '--setf', `duration_stretch=${s.rate}`];
      const { stdout } = await run('flite', [...args, '-psdur', '-t', parts.join(' '), '-o', wav]);
      if (parts.length > 1) {
        const prefix = (await run('flite', [...args, '-ps', '-t', parts[0]!, '-o', 'none'])).stdout.split(/\s+/).filter((p) => p && p !== 'pau');
        const segs = stdout.trim().split(/\s+/).map((t) => t.split(':')).filter(([p]) => p !== 'pau');
        const cutAt = Number(segs[prefix.length - 1]?.[1]);
        if (!Number.isFinite(cutAt)) throw new Error(`flite gave no timing for "${parts[0]}"`);
        const cut = `${wav}.cut.wav`;
        await run('sox', [wav, cut, 'pad', `0.3@${cutAt}`]);
        await rename(cut, wav);
      }
    } else {
      const sable = path.join(dir, `${key}.sable`);
      const body = parts.join(' <BREAK LEVEL="Large"/> ');
      await writeFile(sable, `<?xml version="1.0"?>\n<!DOCTYPE SABLE PUBLIC "-//SABLE//DTD SABLE speech mark up//EN" "Sable.v0_2.dtd" []>\n<SABLE><RATE SPEED="${Math.round(100 / s.rate - 100)}%">${body}</RATE></SABLE>\n`);
      await run('text2wave', ['-mode', 'sable', sable, '-o', wav]);
    }
    const tmp = `${raw}.${process.pid}.tmp`;
    await run('sox', [wav, '-r', String(SR), '-c', '1', '-b', '32', '-e', 'floating-point', '-t', 'raw', tmp]);
    await rename(tmp, raw);
  }
  const buf = await readFile(raw);
  const x = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const { start, end } = speechSpan(x);
  const out = new Float32Array(end - start);
  // Normalise each phrase to one peak first, so `gain` alone sets the player's level whatever the synthesizer.
  let peak = 0;
  for (let i = start; i < end; i++) peak = Math.max(peak, Math.abs(x[i]!));
  const k = (0.7 * s.gain) / Math.max(1e-6, peak);
  for (let i = start; i < end; i++) out[i - start] = Math.max(-1, Math.min(1, x[i]! * k));
  return out;
}

/**
 * Set the pause of a phrase spoken with PAUSE to exactly `pauseMs`: the longest quiet stretch inside the
 * speech (10 ms blocks 40 dB under the peak) is replaced by digital silence of that length.
 */
export function setPause(x: Float32Array, pauseMs: number): { samples: Float32Array; pauseStart: number; pauseEnd: number } {
  const B = SR / 100;
  let peak = 0;
  for (let i = 0; i < x.length; i++) peak = Math.max(peak, Math.abs(x[i]!));
  const quiet = (b: number) => {
    let e = 0;
    for (let i = b * B; i < Math.min(x.length, (b + 1) * B); i++) e = Math.max(e, Math.abs(x[i]!));
    return e < peak * 0.01;
  };
  const blocks = Math.floor(x.length / B);
  let best = { from: 0, len: 0 };
  for (let b = 1, from = -1; b < blocks - 1; b++) {
    if (quiet(b)) {
      if (from < 0) from = b;
      if (b - from + 1 > best.len) best = { from, len: b - from + 1 };
    } else from = -1;
  }
  if (best.len < 3) throw new Error('no pause found in the phrase');
  const cutA = best.from * B;
  const cutB = (best.from + best.len) * B;
  const pause = Math.round((pauseMs * SR) / 1000);
  const out = new Float32Array(cutA + pause + (x.length - cutB));
  out.set(x.subarray(0, cutA), 0);
  out.set(x.subarray(cutB), cutA + pause);
  // The true pause is from the last to the first audible sample around the cut.
  const span = (from: number, to: number, dir: 1 | -1) => {
    let i = dir > 0 ? from : to - 1;
    while (i >= from && i < to && Math.abs(out[i]!) < peak * 0.01) i += dir;
    return i;
  };
  return { samples: out, pauseStart: span(0, cutA, -1) + 1, pauseEnd: span(cutA + pause, out.length, 1) };
}

/** First and last sample of the speech (above 1% of the peak), so spans are true speech times. */
function speechSpan(x: Float32Array): { start: number; end: number } {
  let peak = 0;
  for (let i = 0; i < x.length; i++) peak = Math.max(peak, Math.abs(x[i]!));
  const th = peak * 0.01;
  let start = 0;
  while (start < x.length && Math.abs(x[start]!) < th) start++;
  let end = x.length;
  while (end > start && Math.abs(x[end - 1]!) < th) end--;
  return { start, end };
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
