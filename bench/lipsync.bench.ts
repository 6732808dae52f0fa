/**
 * Lip-sync accuracy and cost. Ground truth: the phonemes a TTS really spoke, against the viseme keys the server
 * timeline derives from the text pieces alone (what the client shows).
 *
 * - lipsync_onset_*, lipsync_frame_*: through the rehearsal engine (issue 4) with its declared lead, every builtin
 *   voice (18 espeak voices and accents, 150–185 wpm) speaking each line.
 * - lipsync_spm_lead2_*: the same measure on the espeak stand-in (tests/visemes/espeak-speaker.ts), whose pieces
 *   are cut by a real 32k SentencePiece model (words split mid-word, punctuation pieces) with a lead of 2 frames,
 *   as a model engine sends them, at 140/175/210 wpm.
 */
import { execFileSync } from 'node:child_process';
import { phonesToSpans } from '../server/visemes/arpabet.ts';
import { letterToSound } from '../server/visemes/letter-to-sound.ts';
import { loadPronunciations, pronounce } from '../server/visemes/pronounce.ts';
import { VisemeTimeline } from '../server/visemes/timeline.ts';
import { LipSyncDriver } from '../plugin/lipsync/driver.ts';
import type { LipSyncRig } from '../plugin/lipsync/rigs.ts';
import { alignOnsets, frameAgreement, predictedKeys, quantile, truthKeys } from '../tests/visemes/accuracy.ts';
import { createEspeakSpeaker, type SpokenFrame } from '../tests/visemes/espeak-speaker.ts';
import { speakThroughRehearsal } from '../tests/visemes/rehearsal-speaker.ts';
import { BUILTIN_VOICES } from '../server/persona/persona.ts';

/** NPC lines of the kind the sample game speaks: questions, lists, numbers spelled, names, long and short words. */
const LINES = [
  'Welcome to Ares Station, traveller. Mind the dust storms at night; they come without warning.',
  'The reactor is running hot again, so keep your suit sealed until we reach the airlock.',
  'I have been stationed on Mars for nearly three years, and I still miss the smell of rain.',
  'Do you have the oxygen scrubbers? Commander Reyes wanted them before the storm hits.',
  'Listen carefully: the north ridge is unstable, and the rover cannot climb it with a full load.',
  'Honestly, I think the colony will survive, but only if the greenhouse harvest comes in on time.',
  'Hold on. Say that again, slowly this time.',
  'We lost contact with the supply drone twenty minutes ago, somewhere past the crater rim.',
  'Your badge says engineer, but you walk like a pilot. Which one is it?',
  'Please check the pressure valves in module four, then report back to the medical bay.',
  'Absolutely not! Nobody leaves the habitat until the radiation alarm has stopped.',
  'The water recycler makes that strange whistling noise whenever someone opens the hatch.',
];
const RATES = [140, 175, 210];
const LEAD = 2;

export default async function lipsyncBench(): Promise<Record<string, number>> {
  const figures: Record<string, number> = {};

  // dictionary load, in a fresh process so nothing is cached
  const loadMs = Number(
    execFileSync(process.execPath, ['--input-type=module', '-e',
      "const t=performance.now(); await import('cmu-pronouncing-dictionary'); console.log(performance.now()-t)"], { encoding: 'utf8' }),
  );
  figures.lipsync_dictionary_load_ms = loadMs;
  await loadPronunciations();

  // accuracy through the rehearsal engine: every voice speaks the first lines
  process.stderr.write('  speaking through the rehearsal engine (18 voices)…\n');
  const rehearsal = await speakThroughRehearsal(LINES.slice(0, 6), BUILTIN_VOICES);
  const perVoice = rehearsal.utterances.length / BUILTIN_VOICES.length;
  const main = measure(rehearsal.utterances, rehearsal.lead);
  Object.assign(figures, prefixed('lipsync_', main));
  figures.lipsync_engine_lead_frames = rehearsal.lead;
  figures.lipsync_onset_error_p95_worst_voice_ms = Math.max(
    ...BUILTIN_VOICES.map((_, v) => measure(rehearsal.utterances.slice(v * perVoice, (v + 1) * perVoice), rehearsal.lead).onset_error_p95_ms),
  );
  report(`rehearsal engine, ${rehearsal.utterances.length} utterances, lead ${rehearsal.lead}`, main);

  // the stand-in with SentencePiece pieces and a model-like lead
  process.stderr.write('  synthesising SentencePiece-piece streams with espeak-ng…\n');
  const speaker = await createEspeakSpeaker();
  const utterances: SpokenFrame[][] = RATES.flatMap((rate) => LINES.map((line) => speaker.speak(line, { rate, lead: LEAD })));
  const spm = measure(utterances, LEAD);
  Object.assign(figures, prefixed('lipsync_spm_lead2_', spm));
  report(`SentencePiece pieces, ${utterances.length} utterances (${RATES.join('/')} wpm), lead ${LEAD}`, spm);

  // letter-to-sound fallback against the dictionary, at the viseme level, on every 97th plain dictionary word
  const { dictionary } = (await import('cmu-pronouncing-dictionary')) as { dictionary: Record<string, string> };
  let edits = 0;
  let length = 0;
  let n = 0;
  Object.keys(dictionary).forEach((word, i) => {
    if (i % 97 !== 0 || !/^[a-z]{3,}$/.test(word)) return;
    const want = phonesToSpans(pronounce(word).phones).map((s) => s.v);
    const got = phonesToSpans(letterToSound(word)).map((s) => s.v);
    edits += editDistance(want, got);
    length += want.length;
    n++;
  });
  figures.lipsync_lts_viseme_accuracy_pct = 100 * (1 - edits / length);
  figures.lipsync_lts_words_checked = n;

  // server cost: one timeline over a long stream, a piece in about 3 of 5 frames
  const words = LINES.join(' ').split(/\s+/);
  const tl = new VisemeTimeline({ leadFrames: LEAD });
  const frames = 20_000;
  const t0 = process.cpuUsage();
  for (let f = 0, w = 0; f < frames; f++) {
    const piece = f % 5 < 3 ? `▁${words[w++ % words.length]}` : undefined;
    tl.onFrame(f, piece);
  }
  const cpu = process.cpuUsage(t0);
  figures.lipsync_timeline_us_per_frame = (cpu.user + cpu.system) / frames;

  // client cost: one driver update (coarticulation + smoothing + 15 morph targets)
  const sink = { influence: 0 };
  const rig: LipSyncRig = { kind: 'oculus', apply: (w) => (sink.influence = w[10]), reset: () => undefined };
  const clock = { streamPosition: 0 };
  const driver = new LipSyncDriver({ clock, rig, level: () => 0.1 });
  const keys = predictedKeys(utterances[0], { leadFrames: LEAD });
  driver.applyTrack({ from: 0, keys });
  const span = keys[keys.length - 1].at;
  const updates = 50_000;
  const t1 = process.cpuUsage();
  for (let i = 0; i < updates; i++) {
    clock.streamPosition = (i * 400) % span;
    if (clock.streamPosition < 400) driver.applyTrack({ from: 0, keys }); // keys behind the playhead get pruned
    driver.update(16.7);
  }
  const cpu2 = process.cpuUsage(t1);
  figures.lipsync_driver_us_per_update = (cpu2.user + cpu2.system) / updates;
  return figures;
}

interface Measured {
  onset_error_median_ms: number;
  onset_error_p95_ms: number;
  onset_bias_median_ms: number;
  frame_agreement_pct: number;
  aligned_onsets_pct: number;
  aligned_same_viseme_pct: number;
  measured_onsets: number;
}

function measure(utterances: SpokenFrame[][], lead: number): Measured {
  const errors: number[] = [];
  let same = 0;
  let truthOnsets = 0;
  let agree = 0;
  let total = 0;
  for (const frames of utterances) {
    const truth = truthKeys(frames);
    const predicted = predictedKeys(frames, { leadFrames: lead });
    const a = alignOnsets(truth, predicted);
    errors.push(...a.errorsMs);
    same += a.same;
    truthOnsets += a.truthCount;
    const fa = frameAgreement(truth, predicted);
    agree += fa.agree;
    total += fa.total;
  }
  const abs = errors.map(Math.abs);
  return {
    onset_error_median_ms: quantile(abs, 0.5),
    onset_error_p95_ms: quantile(abs, 0.95),
    onset_bias_median_ms: quantile(errors, 0.5),
    frame_agreement_pct: (100 * agree) / total,
    aligned_onsets_pct: (100 * errors.length) / truthOnsets,
    aligned_same_viseme_pct: (100 * same) / errors.length,
    measured_onsets: errors.length,
  };
}

function prefixed(prefix: string, m: Measured): Record<string, number> {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [prefix + k, v]));
}

function report(what: string, m: Measured): void {
  process.stderr.write(
    `  ${what}: ${m.measured_onsets} onsets, median |err| ${m.onset_error_median_ms.toFixed(1)} ms, ` +
      `p95 ${m.onset_error_p95_ms.toFixed(1)} ms (targets 40 / 100), frame agreement ${m.frame_agreement_pct.toFixed(1)}%\n`,
  );
}

function editDistance(a: readonly number[], b: readonly number[]): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}
