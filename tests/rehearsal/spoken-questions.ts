/**
 * Stand-in for players asking questions out loud: Debian's speech synthesizers (Flite, Festival, espeak-ng), in
 * several voices, rates and levels, rendered to the engine's 24 kHz mono float frames. Tests and the topic
 * accuracy bench use them; none of them is the espeak WASM the NPCs speak with.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SAMPLE_RATE } from '../../protocol/frame.ts';

export interface Speaker {
  /** a short label for reports, e.g. "flite:slt" */
  label: string;
  synth: 'flite' | 'festival' | 'espeak';
  /** flite voice (slt, awb, rms, kal16), espeak voice (en-us, en-gb+f3 …); festival uses its default (kal) */
  voice?: string;
  /** speaking-rate factor: 1 as the synthesizer speaks, 1.25 a quarter faster (sox tempo) */
  tempo?: number;
  /** peak level after synthesis, 0–1 */
  peak?: number;
}

export const SPEAKERS: Speaker[] = [
  { label: 'flite:slt', synth: 'flite', voice: 'slt', peak: 0.5 },
  { label: 'flite:awb fast', synth: 'flite', voice: 'awb', tempo: 1.2, peak: 0.3 },
  { label: 'flite:rms slow quiet', synth: 'flite', voice: 'rms', tempo: 0.85, peak: 0.08 },
  { label: 'flite:kal16', synth: 'flite', voice: 'kal16', peak: 0.7 },
  { label: 'festival:kal', synth: 'festival', peak: 0.4 },
  { label: 'festival:kal fast quiet', synth: 'festival', tempo: 1.2, peak: 0.1 },
  { label: 'espeak:en-us', synth: 'espeak', voice: 'en-us', peak: 0.5 },
  { label: 'espeak:en-gb+f3 slow', synth: 'espeak', voice: 'en-gb+f3', tempo: 0.9, peak: 0.3 },
  { label: 'espeak:en-us+m3 fast loud', synth: 'espeak', voice: 'en-us+m3', tempo: 1.15, peak: 0.9 },
];

/** `text` spoken by `speaker`, 24 kHz mono float, trimmed of the synthesizer's own leading/trailing silence. */
export function speak(text: string, speaker: Speaker): Float32Array {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-ask-'));
  try {
    const wav = path.join(dir, 'a.wav');
    const raw = path.join(dir, 'a.f32');
    if (speaker.synth === 'flite') execFileSync('flite', ['-voice', speaker.voice ?? 'slt', '-t', text, '-o', wav]);
    else if (speaker.synth === 'espeak') execFileSync('espeak-ng', ['-v', speaker.voice ?? 'en-us', '-w', wav, text]);
    else {
      const txt = path.join(dir, 'a.txt');
      writeFileSync(txt, text);
      execFileSync('text2wave', ['-o', wav, txt]);
    }
    const effects = ['silence', '1', '0.02', '0.5%', 'reverse', 'silence', '1', '0.02', '0.5%', 'reverse'];
    if (speaker.tempo && speaker.tempo !== 1) effects.push('tempo', '-s', String(speaker.tempo));
    effects.push('norm', String(20 * Math.log10(speaker.peak ?? 0.5)));
    execFileSync('sox', [wav, '-r', String(SAMPLE_RATE), '-c', '1', '-e', 'floating-point', '-b', '32', '-t', 'raw', raw, ...effects]);
    const buf = readFileSync(raw);
    return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
