/**
 * Speech for the echo tests: the NPC's voice (espeak with an NPC voice profile, what the rehearsal engine
 * says) and the player's (another espeak voice). 24 kHz, deterministic.
 */
import { SAMPLE_RATE } from '../../../protocol/frame.ts';
import { VOICE_PROFILES } from '../../../server/engines/rehearsal/voices.ts';
import { playerSpeech, type Speech } from '../../rehearsal/audio-tools.ts';

export const NPC_LINES = [
  'The coolant loop is failing and we have maybe an hour before the core overheats.',
  'Check the pressure valves on deck three, then report back to me.',
  'Stay calm. We have trained for exactly this kind of day.',
  'Welcome aboard, cadet. The reactor needs you.',
  'If the secondary pump fails too, we vent the chamber and pray the shielding holds.',
  'I need those readings every ten minutes, no excuses.',
];

/** `seconds` of NPC speech: lines with 400 ms pauses, cycled, at the level the engine speaks (peak ≈ 0.5). */
export async function npcSpeech(seconds: number, voice = VOICE_PROFILES.NATF2): Promise<Float32Array> {
  const one = await playerSpeech(NPC_LINES, { voice, gapMs: 400, tailMs: 400 });
  const out = new Float32Array(Math.round(seconds * SAMPLE_RATE));
  for (let at = 0; at < out.length; at += one.samples.length) out.set(one.samples.subarray(0, out.length - at), at);
  return out;
}

export { playerSpeech, type Speech };

/** Power ratio in dB, with a floor so silence does not give infinities. */
export function db(num: number, den: number): number {
  return 10 * Math.log10((num + 1e-20) / (den + 1e-20));
}

/**
 * ERLE of a run: `echo` is what the microphone picked up from the speakers, `residual` what is left of it after
 * the canceller (no near-end speech), `ref` what was played. Windows of 500 ms where the far end was active.
 * Steady: over everything from `settledFrom` on. Converged: the start of the first second from which every
 * later one-second window reaches `target`.
 */
export function erleOf(echo: Float32Array, residual: Float32Array, ref: Float32Array, opts: { settledFrom?: number; target?: number; rate?: number } = {}) {
  const rate = opts.rate ?? SAMPLE_RATE;
  const target = opts.target ?? 25;
  const win = Math.round(rate / 2);
  const windows: { at: number; db: number }[] = [];
  let se = 0, sr = 0;
  const from = Math.round((opts.settledFrom ?? 2) * rate);
  for (let w = 0; w + win <= echo.length; w += win) {
    let pe = 0, pr = 0, pp = 0;
    for (let i = w; i < w + win; i++) (pe += echo[i]! ** 2), (pr += residual[i]! ** 2), (pp += ref[i]! ** 2);
    if (pp / win < 1e-5 || pe / win < 1e-7) continue; // far end (nearly) silent in this window
    windows.push({ at: w / rate, db: db(pe, pr) });
    if (w >= from) (se += pe), (sr += pr);
  }
  let converged = NaN;
  for (let k = windows.length - 1; k >= 0; k--) {
    if (windows[k]!.db < target) break;
    converged = windows[k]!.at;
  }
  return { steadyDb: db(se, sr), convergedS: converged, windows };
}

/**
 * ERLE from a canceller's per-frame mean squares (mic before, after, reference): windows of `windowFrames`
 * 80 ms frames with the far end active; steady over everything from `settledFrom` s on; converged as in erleOf.
 */
export function erleOfFrames(frames: readonly { mic: number; out: number; ref: number }[], opts: { settledFrom?: number; target?: number; windowFrames?: number } = {}) {
  const target = opts.target ?? 25;
  const w = opts.windowFrames ?? 6;
  const windows: { at: number; db: number }[] = [];
  let se = 0, sr = 0;
  for (let k = 0; k + w <= frames.length; k += w) {
    let pm = 0, po = 0, pr = 0;
    for (let i = k; i < k + w; i++) (pm += frames[i]!.mic), (po += frames[i]!.out), (pr += frames[i]!.ref);
    if (pr / w < 1e-5 || pm / w < 1e-7) continue;
    windows.push({ at: k * 0.08, db: db(pm, po) });
    if (k * 0.08 >= (opts.settledFrom ?? 2)) (se += pm), (sr += po);
  }
  let converged = NaN;
  for (let k = windows.length - 1; k >= 0; k--) {
    if (windows[k]!.db < target) break;
    converged = windows[k]!.at;
  }
  return { steadyDb: db(se, sr), convergedS: converged, windows };
}
