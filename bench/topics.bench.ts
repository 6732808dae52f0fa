/**
 * Topic understanding of the rehearsal engine (issue 21), engine-only, in-thread through RehearsalEngine.step:
 *
 *   accuracy     questions within Alex's topics, worded as a player would ask them (written from each topic's
 *                meaning, not copied from the sheet's asks), spoken by Flite, Festival and espeak-ng voices at
 *                several rates and levels → the share answered with the right topic's line
 *   rejection    questions outside Alex's topics, plus noises and a tone → the share NOT answered with a topic
 *   end of turn  last sample of the question → first audible sample of the answer, with recognition and without
 *                it (recognition: false) on the same questions in the same run
 *   CPU          per session-frame, 24 sessions in one thread, the same question traffic, with and without
 *   real time    sessions the worker pool steps within 80 ms (p95) when every session is Alex with topics
 */
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { FRAME_SAMPLES, SAMPLE_RATE } from '../protocol/frame.ts';
import type { Persona, StepInput } from '../server/engines/contract.ts';
import { RehearsalEngine, type RehearsalOptions } from '../server/engines/rehearsal/engine.ts';
import { rehearsalWorkerCount, startRehearsalEngine } from '../server/engines/rehearsal/index.ts';
import { seededRandom } from '../server/engines/rehearsal/lines.ts';
import { compileSheetFile } from '../server/sheets/compile.ts';
import { percentile } from './support/percentile.ts';
import { estimateCounter } from '../server/persona/tokens.ts';
import { framesOf } from '../tests/rehearsal/audio-tools.ts';
import { Conversation } from '../tests/rehearsal/scenario.ts';
import { SPEAKERS, speak, type Speaker } from '../tests/rehearsal/spoken-questions.ts';
import { tone } from '../tests/support/audio.ts';

const log = (s: string) => process.stderr.write(`  ${s}\n`);

/** Player questions per Alex topic; expected topic id → questions. */
export const IN_TOPIC: Record<string, string[]> = {
  reactor: [
    'alex what is going on with the core',
    'is the reactor going to explode',
    'how is the reactor doing',
    "what's wrong with the core",
    'is the core about to melt down',
    'what happened to the reactor',
  ],
  coolant: [
    'how much coolant is left',
    'what happened to the coolant',
    'is the coolant leaking',
    'what about the coolant pressure',
    'can you fix the coolant loop',
    'what is wrong with the coolant',
  ],
  'time-left': [
    'how long do we have',
    'how much time before it blows',
    'when will it go critical',
    'are we running out of time',
    'how long until meltdown',
    'how much time is left',
  ],
  'what-to-do': [
    'what should i do',
    'how can i help you',
    'what do you need me to do',
    'where do i start',
    "what's the plan alex",
    "okay what's next",
  ],
  hello: ['hi there'],
  thanks: ['thank you very much'],
  goodbye: ['see you later'],
};

/** Questions Alex has no topic for. */
export const OUT_OF_TOPIC = [
  'what is the weather like on mars',
  'do you have any family back home',
  'where is the kitchen',
  "what's your favourite food",
  'who is the commander of this ship',
  'can you sing me a song',
  'how old are you',
  'what time is dinner',
  'where did you grow up',
  'is the doctor in the med bay',
  "my name is sam and i'm new here",
  'do you play chess',
];

function noises(): { label: string; samples: Float32Array }[] {
  const random = seededRandom(21);
  const n = Math.round(1.5 * SAMPLE_RATE);
  const white = Float32Array.from({ length: n }, () => (random() * 2 - 1) * 0.2);
  // pink-ish: white noise through a leaky integrator
  let y = 0;
  const rumble = Float32Array.from({ length: n }, () => (y = 0.98 * y + (random() * 2 - 1) * 0.1));
  // a burst of clicks (a keyboard, a dropped tool)
  const clicks = new Float32Array(n);
  for (let k = 0; k < 12; k++) {
    const at = Math.floor(random() * (n - 200));
    for (let i = 0; i < 120; i++) clicks[at + i] = (random() * 2 - 1) * 0.6 * Math.exp(-i / 30);
  }
  return [
    { label: 'white noise', samples: white },
    { label: 'rumble', samples: rumble },
    { label: 'clicks', samples: clicks },
    { label: '440 Hz tone', samples: tone(Math.round(1.2 * SAMPLE_RATE), 440, 0.3) },
  ];
}

interface Trial {
  text: string;
  speaker: string;
  expected?: string;
  got?: string;
  heard?: string;
  /** ms from the question's last sample to the answer's first audible sample; undefined if no answer */
  endOfTurnMs?: number;
}

export function alexPersona(): Persona {
  const r = compileSheetFile(new URL('../character-sheets/alex.yaml', import.meta.url).pathname, { counter: estimateCounter });
  if (!r.sheet) throw new Error(`alex.yaml does not compile: ${r.issues.map((i) => i.message).join('; ')}`);
  return r.sheet.persona;
}

/** Asks each question in one conversation, waiting for the answer to finish before the next. */
export async function ask(options: RehearsalOptions, questions: { text: string; speaker: Speaker | string; samples: Float32Array; expected?: string }[]) {
  const engine = await RehearsalEngine.create({ tts: 'inline', quiet: true, ...options });
  const id = await engine.open(alexPersona());
  await engine.ready(id);
  const c = new Conversation(engine, id);
  await c.silence(1000);
  await waitForQuiet(engine, id, c);
  const trials: Trial[] = [];
  for (const q of questions) {
    const startFrame = c.frame;
    const start = await c.say(q.samples);
    const lastSample = start + q.samples.length;
    // up to 3 s for an answer to start (a noise gets none), then until it has played out
    let answer;
    for (let k = 0; k < 38 && !answer; k++) {
      await c.silence(80);
      answer = engine.groundTruth(id).find((r) => r.kind !== 'backchannel' && r.startFrame >= startFrame);
    }
    const first = answer ? c.firstSound(answer.startFrame * FRAME_SAMPLES) : -1;
    trials.push({
      text: q.text,
      speaker: typeof q.speaker === 'string' ? q.speaker : q.speaker.label,
      expected: q.expected,
      got: answer?.topic,
      heard: answer?.heard,
      endOfTurnMs: answer && first >= 0 ? ((first - lastSample) / SAMPLE_RATE) * 1000 : undefined,
    });
    await waitForQuiet(engine, id, c);
  }
  await engine.dispose();
  return trials;
}

async function waitForQuiet(engine: RehearsalEngine, id: number, c: Conversation) {
  for (let k = 0; k < 200; k++) {
    const last = engine.groundTruth(id).at(-1);
    if (!last || (last.startFrame >= 0 && c.frame > last.startFrame + last.frames + 4)) return;
    await c.silence(80);
  }
}

export function questionSet() {
  const inTopic: { text: string; speaker: Speaker; samples: Float32Array; expected: string }[] = [];
  const outOfTopic: { text: string; speaker: Speaker | string; samples: Float32Array }[] = [];
  let k = 0;
  // each question by three different speakers, rotating through all nine
  for (const [expected, texts] of Object.entries(IN_TOPIC)) {
    for (const text of texts) {
      for (let j = 0; j < 3; j++) {
        const speaker = SPEAKERS[k++ % SPEAKERS.length]!;
        inTopic.push({ text, speaker, samples: speak(text, speaker), expected });
      }
    }
  }
  for (const text of OUT_OF_TOPIC) {
    for (let j = 0; j < 2; j++) {
      const speaker = SPEAKERS[k++ % SPEAKERS.length]!;
      outOfTopic.push({ text, speaker, samples: speak(text, speaker) });
    }
  }
  for (const n of noises()) outOfTopic.push({ text: n.label, speaker: 'noise', samples: n.samples });
  return { inTopic, outOfTopic };
}

/** CPU per session-frame, 24 Alex sessions in one thread, the same looping question traffic. */
async function cpuPerSessionFrame(frames: Float32Array[], options: RehearsalOptions) {
  const sessions = 24;
  const engine = await RehearsalEngine.create({ tts: 'inline', quiet: true, ...options });
  const persona = alexPersona();
  const ids: number[] = [];
  for (let i = 0; i < sessions; i++) ids.push(await engine.open({ ...persona, seed: i }));
  await Promise.all(ids.map((id) => engine.ready(id)));
  const random = seededRandom(5);
  const phase = ids.map(() => Math.floor(random() * frames.length));
  const step = (k: number) => engine.step(ids.map((session, i) => ({ session, input: frames[(phase[i]! + k) % frames.length]! })));
  for (let k = 0; k < 25; k++) await step(k);
  const steps = 250;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let k = 25; k < 25 + steps; k++) await step(k);
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await engine.dispose();
  return { cpuMs: (cpu.user + cpu.system) / 1000 / (steps * sessions), stepMs: wall / steps };
}

/** Sessions (all Alex, with topics) the worker pool steps every 80 ms with step p95 ≤ 80 ms. */
async function sustained(frames: Float32Array[]) {
  const workers = rehearsalWorkerCount();
  const pool = await startRehearsalEngine({ workers, engine: { quiet: true } });
  const persona = alexPersona();
  const anchors: number[] = [];
  for (let i = 0; i < workers; i++) anchors.push(await pool.open(persona));
  // the TTS threads synthesise Alex's lines once per worker: wait until the process is idle (at most 3 minutes)
  for (let calm = 0, t0 = performance.now(); calm < 2 && performance.now() - t0 < 180_000; ) {
    const c0 = process.cpuUsage();
    await sleep(1000);
    const c = process.cpuUsage(c0);
    calm = (c.user + c.system) / 1000 < 50 ? calm + 1 : 0;
  }
  let good = 0;
  let p95At24 = NaN;
  for (const n of [24, 48, 64]) {
    const ids: number[] = [];
    for (let i = 0; i < n; i++) ids.push(await pool.open({ ...persona, seed: i }));
    const random = seededRandom(n);
    const phase = ids.map(() => Math.floor(random() * frames.length));
    const times: number[] = [];
    let errors = 0;
    const t0 = performance.now();
    for (let k = 0; k < 65; k++) {
      const batch: StepInput[] = ids.map((session, i) => ({ session, input: frames[(phase[i]! + k) % frames.length]! }));
      const s = performance.now();
      const out = await pool.step(batch);
      if (k >= 15) times.push(performance.now() - s);
      errors += out.filter((o) => o.error).length;
      const wait = t0 + (k + 1) * 80 - performance.now();
      if (wait > 0) await sleep(wait);
    }
    for (const id of ids) await pool.close(id);
    const p95 = percentile(times, 95);
    if (n === 24) p95At24 = p95;
    log(`${n} sessions with topics: step p50 ${percentile(times, 50).toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, errors ${errors}, load ${os.loadavg()[0]!.toFixed(1)}`);
    if (p95 > 80 || errors) break;
    good = n;
  }
  await pool.dispose();
  return { good, p95At24, load: os.loadavg()[0]! };
}

export default async function topicsBench(): Promise<Record<string, number>> {
  log('speaking the questions (Flite, Festival, espeak-ng; 9 voice/rate/level settings)…');
  const { inTopic, outOfTopic } = questionSet();
  log(`accuracy: ${inTopic.length} in-topic questions, ${outOfTopic.length} out-of-topic questions and noises…`);
  const trials = await ask({}, [...inTopic, ...outOfTopic]);
  const inT = trials.filter((t) => t.expected);
  const outT = trials.filter((t) => !t.expected);
  const right = inT.filter((t) => t.got === t.expected).length;
  const wrongTopic = inT.filter((t) => t.got && t.got !== t.expected).length;
  const rejected = outT.filter((t) => !t.got).length;
  for (const t of inT.filter((x) => x.got !== x.expected)) log(`missed  [${t.speaker}] "${t.text}" → ${t.got ?? 'not understood'} (heard "${t.heard ?? ''}")`);
  for (const t of outT.filter((x) => x.got)) log(`accepted [${t.speaker}] "${t.text}" → ${t.got} (heard "${t.heard}")`);
  const bySynth = new Map<string, [number, number]>();
  for (const t of inT) {
    const k = t.speaker.split(':')[0]!;
    const v = bySynth.get(k) ?? [0, 0];
    bySynth.set(k, [v[0] + (t.got === t.expected ? 1 : 0), v[1] + 1]);
  }
  log(`by synthesizer: ${[...bySynth].map(([k, [a, n]]) => `${k} ${a}/${n}`).join(', ')}`);

  log('end of turn with and without recognition (same questions)…');
  const sample = inTopic.filter((_, i) => i % 3 === 0);
  const withR = trials.filter((t, i) => t.expected && i % 3 === 0).map((t) => t.endOfTurnMs).filter((x): x is number => x !== undefined);
  const without = (await ask({ recognition: false }, sample)).map((t) => t.endOfTurnMs).filter((x): x is number => x !== undefined);
  const understanding = {
    topics_accuracy_in_topic: right / inT.length,
    topics_in_topic_questions_count: inT.length,
    topics_wrong_topic_count: wrongTopic,
    topics_rejection_out_of_topic: rejected / outT.length,
    topics_out_of_topic_items_count: outT.length,
    topics_end_of_turn_p50_ms: percentile(withR, 50),
    topics_end_of_turn_p95_ms: percentile(withR, 95),
    topics_end_of_turn_p50_ms_without_recognition: percentile(without, 50),
    topics_end_of_turn_p95_ms_without_recognition: percentile(without, 95),
    topics_end_of_turn_p50_delta_ms: percentile(withR, 50) - percentile(without, 50),
  };
  // TOPICS_BENCH_ONLY=accuracy: what the recogniser understands and when it answers, without the CPU and pool parts
  if (process.env.TOPICS_BENCH_ONLY === 'accuracy') return understanding;

  log('CPU per session-frame (24 Alex sessions, one thread)…');
  const traffic: Float32Array[] = [];
  const silence = new Float32Array(Math.round(2.5 * SAMPLE_RATE));
  for (const q of inTopic.slice(0, 12)) traffic.push(...framesOf(q.samples), ...framesOf(silence));
  const cpuWith = await cpuPerSessionFrame(traffic, {});
  const cpuWithout = await cpuPerSessionFrame(traffic, { recognition: false });

  log('sessions in real time (worker pool, every session Alex with topics)…');
  const rt = await sustained(traffic);

  return {
    ...understanding,
    topics_cpu_ms_per_session_frame: cpuWith.cpuMs,
    topics_cpu_ms_per_session_frame_without_recognition: cpuWithout.cpuMs,
    topics_step_ms_24_sessions_one_thread: cpuWith.stepMs,
    topics_sessions_realtime: rt.good,
    topics_step_p95_ms_24_sessions_pool: rt.p95At24,
    topics_loadavg_1m_during_realtime: rt.load,
  };
}
