/**
 * Rehearsal engine figures (issue 4): barge-in stop latency and end-of-turn latency over many synthetic
 * conversations, CPU per session-frame, TTS cost, and the number of sessions the worker pool steps in real time.
 *
 * Latencies are on the engine's own timeline (input frame k and output frame k cover the same 80 ms):
 *   barge-in    from the first sample of the player's speech to the start of the frame where the NPC falls silent
 *   end of turn from the last sample of the player's speech to the first audible sample of the NPC's answer
 */
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { FRAME_SAMPLES, SAMPLE_RATE } from '../protocol/frame.ts';
import type { Persona, StepInput } from '../server/engines/contract.ts';
import { RehearsalEngine } from '../server/engines/rehearsal/engine.ts';
import { rehearsalWorkerCount, startRehearsalEngine } from '../server/engines/rehearsal/index.ts';
import { seededRandom } from '../server/engines/rehearsal/lines.ts';
import { EspeakTts, type VoiceProfile } from '../server/engines/rehearsal/tts.ts';
import { VOICE_PROFILES } from '../server/engines/rehearsal/voices.ts';
import { framesOf, playerSpeech, type Speech } from '../tests/rehearsal/audio-tools.ts';
import { CAPTAIN, Conversation } from '../tests/rehearsal/scenario.ts';
import { recordingLogger } from '../tests/support/log.ts';
import { compileSheetFile } from '../server/sheets/compile.ts';
import { estimateCounter } from '../server/persona/tokens.ts';
import { percentile } from './support/percentile.ts';

const log = (s: string) => process.stderr.write(`  ${s}\n`);
const ms = (samples: number) => (samples / SAMPLE_RATE) * 1000;

const PLAYERS: VoiceProfile[] = [
  { espeak: 'gmw/en-US+m3', pitch: 55, range: 60, rate: 175 },
  { espeak: 'gmw/en-GB-x-rp+f2', pitch: 60, range: 70, rate: 165 },
  { espeak: 'gmw/en-US+m5', pitch: 35, range: 40, rate: 190 },
  { espeak: 'gmw/en+f4', pitch: 70, range: 55, rate: 155 },
];
const ASKS = [
  'Captain, what is going on with the reactor?',
  'Where should I go first?',
  'Is anybody hurt down there?',
  'How much time do we have left?',
  'What do you need me to do?',
];
const CUTS = ['Wait, stop, I have a question.', 'Hold on a second.', 'Sorry to interrupt, but listen.', 'No, no, wait.'];

/**
 * Many short conversations, in-thread: greet, ask, answer, barge in, after-interruption line. The mechanics'
 * floor, in the fixed-silence mode (no prosody, barge-in after 96 ms); the default turn-taking's figures come
 * from bench/turns.bench.ts.
 */
async function latencies() {
  const engine = await RehearsalEngine.create({ tts: 'inline', quiet: true, prosody: false, turnTaking: { endOfTurnMs: 500, bargeInMs: 96 } });
  const random = seededRandom(4);
  const bargeIn: number[] = [];
  const endOfTurn: number[] = [];
  let missed = 0;
  let previous: number | undefined;
  const rounds = 30;
  for (let round = 0; round < rounds; round++) {
    const voice = PLAYERS[round % PLAYERS.length]!;
    const id = await engine.open({ ...CAPTAIN, seed: round });
    if (previous !== undefined) await engine.close(previous); // close after open: the lines stay cached
    previous = id;
    await engine.ready(id);
    const c = new Conversation(engine, id);
    await c.silence(4500); // greeting
    // Player turns start at any sample, not on the frame grid.
    const lead = () => Math.floor(random() * FRAME_SAMPLES * 1000) / SAMPLE_RATE;
    const ask = await playerSpeech([ASKS[round % ASKS.length]!], { voice, leadMs: lead() });
    const askEnd = (await c.say(ask.samples)) + ask.spans[0]!.end;
    // Wait for the answer, then let it play 0.3–1.5 s before cutting in.
    for (let i = 0; i < 40 && !engine.groundTruth(id).some((r) => r.kind === 'line' && r.startFrame >= 0); i++) await c.silence(80);
    const line = engine.groundTruth(id).find((r) => r.kind === 'line' && r.startFrame >= 0);
    if (!line) {
      missed++;
      continue;
    }
    endOfTurn.push(ms(c.firstSound(line.startFrame * FRAME_SAMPLES) - askEnd));
    await c.silence(300 + random() * 1200);
    const cut = await playerSpeech([CUTS[round % CUTS.length]!], { voice, leadMs: lead() });
    const at = await c.say(cut.samples);
    const onset = at + cut.spans[0]!.start;
    await c.silence(2500);
    const stop = c.framesWithEvent('interrupted')[0];
    if (stop === undefined) missed++;
    else bargeIn.push(ms(stop * FRAME_SAMPLES - onset));
    const after = engine.groundTruth(id).find((r) => r.kind === 'afterInterruption' && r.startFrame >= 0);
    if (after) endOfTurn.push(ms(c.firstSound(after.startFrame * FRAME_SAMPLES) - (at + cut.spans[0]!.end)));
  }
  await engine.dispose();
  log(`barge-in ms: ${bargeIn.map((v) => v.toFixed(0)).join(' ')}`);
  log(`end-of-turn ms: ${endOfTurn.map((v) => v.toFixed(0)).join(' ')}`);
  return {
    rehearsal_bargein_stop_ms_p50: percentile(bargeIn, 50),
    rehearsal_bargein_stop_ms_p95: percentile(bargeIn, 95),
    rehearsal_bargein_stop_ms_max: Math.max(...bargeIn),
    rehearsal_end_of_turn_ms_p50: percentile(endOfTurn, 50),
    rehearsal_end_of_turn_ms_p95: percentile(endOfTurn, 95),
    rehearsal_latency_trials_count: rounds,
    rehearsal_missed_turns_count: missed,
  };
}

/** A looping player track per session: ask, pause, barge in, pause (phase-shifted per session). */
async function traffic(): Promise<Float32Array[]> {
  const tracks: Speech[] = [];
  for (let i = 0; i < PLAYERS.length; i++) {
    tracks.push(await playerSpeech([ASKS[i]!, CUTS[i]!], { voice: PLAYERS[i], leadMs: 2500, gapMs: 3000, tailMs: 3500 }));
  }
  return tracks.flatMap((t) => framesOf(t.samples));
}

function feeder(frames: Float32Array[], sessions: number, seed: number) {
  const random = seededRandom(seed);
  const phase = Array.from({ length: sessions }, () => Math.floor(random() * frames.length));
  return (k: number, i: number) => frames[(phase[i]! + k) % frames.length]!;
}



/**
 * CPU time per session-frame in one thread (VAD, turn-taking, playback, and with recognition on, decoding the
 * players' turns; TTS is measured apart), the cast's sheets: 12 sessions (one worker's share of 24 on two cores)
 * stepped every 80 ms, so the recogniser decodes between steps as in the pool and every turn is in the figure.
 */
async function cpuPerSessionFrame(frames: Float32Array[], personas: Persona[], recognition: boolean) {
  const sessions = 12;
  const rec = recordingLogger();
  const engine = await RehearsalEngine.create({ tts: 'inline', quiet: false, ...(recognition ? {} : { recognition: false }) }, rec.log);
  const ids: number[] = [];
  for (let i = 0; i < sessions; i++) ids.push(await engine.open(personas[i % personas.length]!));
  await Promise.all(ids.map((id) => engine.ready(id)));
  const input = feeder(frames, sessions, 1);
  const step = (k: number) => engine.step(ids.map((session, i) => ({ session, input: input(k, i) })));
  for (let k = 0; k < 25; k++) await step(k);
  const logged = rec.lines.length;
  const steps = 250;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const times: number[] = [];
  for (let k = 0; k < steps; k++) {
    const s = performance.now();
    await step(25 + k);
    times.push(performance.now() - s);
    const wait = t0 + (k + 1) * 80 - performance.now();
    if (wait > 0) await sleep(wait);
  }
  const cpu = process.cpuUsage(cpu0);
  await engine.dispose();
  const t = turnCounts(rec.lines.slice(logged));
  const sfx = recognition ? '' : '_without_recognition';
  log(`one thread, ${sessions} sessions ${recognition ? 'with' : 'without'} recognition: CPU ${((cpu.user + cpu.system) / 1000 / (steps * sessions)).toFixed(2)} ms per session-frame, step p50 ${percentile(times, 50).toFixed(1)} ms${recognition ? `; ${describeTurns(t)}` : ''}`);
  return {
    [`rehearsal_cpu_ms_per_session_frame${sfx}`]: (cpu.user + cpu.system) / 1000 / (steps * sessions),
    [`rehearsal_step_ms_p50_12_sessions_one_thread${sfx}`]: percentile(times, 50),
  };
}

/** espeak cost: CPU ms per second of speech produced (it runs in each worker's TTS thread). */
async function ttsCost() {
  const tts = await EspeakTts.create();
  const lines = [...CAPTAIN.rehearsal!.lines, CAPTAIN.rehearsal!.greeting, ...ASKS];
  tts.synthesize(VOICE_PROFILES.NATF0, 'Warm up.');
  let audio = 0;
  const cpu0 = process.cpuUsage();
  for (const [i, l] of lines.entries()) audio += tts.synthesize(Object.values(VOICE_PROFILES)[i % 18]!, l).samples.length;
  const cpu = process.cpuUsage(cpu0);
  return { rehearsal_tts_cpu_ms_per_audio_s: (cpu.user + cpu.system) / 1000 / (audio / SAMPLE_RATE) };
}

/** Waits until this process has used under 5% of a core for two seconds running (at most 3 minutes); ms waited. */
async function untilIdle(): Promise<number> {
  const t0 = performance.now();
  let calm = 0;
  while (calm < 2 && performance.now() - t0 < 180_000) {
    const c0 = process.cpuUsage();
    await sleep(1000);
    const c = process.cpuUsage(c0);
    calm = (c.user + c.system) / 1000 < 50 ? calm + 1 : 0;
  }
  return performance.now() - t0;
}

/** The cast's character sheets (topics included), as the server opens them. */
function castPersonas(): Persona[] {
  return ['alex', 'okafor', 'vance', 'ayelen'].map((name) => {
    const r = compileSheetFile(new URL(`../character-sheets/${name}.yaml`, import.meta.url).pathname, { counter: estimateCounter });
    if (!r.sheet) throw new Error(`${name}.yaml does not compile: ${r.issues.map((i) => i.message).join('; ')}`);
    return r.sheet.persona;
  });
}

/**
 * The recogniser's per-turn debug records ('turn decoded') among a recording logger's lines, counted: decoded,
 * late (decoded, but more than 160 ms of it inside steps: the idle time between steps did not suffice), given up
 * (not decoded for lack of time: too far behind at its end, or no decoder free before it ended), dropped (the
 * player cut the NPC off, so the turn is answered with the after-interruption line and its words are not
 * needed), the most audio one step decoded, and grammar switches on decoders.
 */
function turnCounts(lines: string[]) {
  const num = (l: string, k: string) => Number(new RegExp(`${k}=(\\d+)`).exec(l)?.[1] ?? NaN);
  const t = lines
    .filter((l) => l.endsWith('turn decoded'))
    .map((l) => ({ decoded: l.includes('decoded=true'), dropped: l.includes('dropped=true'), inStepMs: num(l, 'inStepMs') }));
  return {
    total: t.length,
    dropped: t.filter((x) => x.dropped).length,
    decoded: t.filter((x) => x.decoded).length,
    late: t.filter((x) => x.decoded && x.inStepMs > 160).length,
    givenUp: t.filter((x) => !x.decoded && !x.dropped).length,
    mostInStepMs: Math.max(0, ...t.map((x) => x.inStepMs || 0)),
    switches: lines.filter((l) => l.endsWith('decoder grammar switched')).length,
  };
}
type TurnCounts = ReturnType<typeof turnCounts>;
const describeTurns = (t: TurnCounts) =>
  `turns ${t.total}: decoded ${t.decoded} (late ${t.late}, most decoded in one step ${t.mostInStepMs} ms of audio), given up ${t.givenUp}, dropped (barge-ins) ${t.dropped}; decoder grammar switches ${t.switches}`;

/**
 * Step N sessions every 80 ms in the worker pool. A session count is sustained when the step p95 fits the 80 ms
 * frame, no step errs, and (with recognition on, which decodes between steps) no player turn was given up for
 * lack of time. The 24-session trial also gives the whole process's CPU per session-frame (workers, their TTS
 * threads and this thread).
 */
async function sustained(frames: Float32Array[], personas: Persona[], recognition: boolean) {
  const workers = rehearsalWorkerCount();
  const rec = recordingLogger();
  const pool = await startRehearsalEngine({ workers, engine: { quiet: !recognition, ...(recognition ? {} : { recognition: false }) }, log: rec.log });
  // Sessions that hold each persona's lines in every worker's cache between trials (never stepped).
  const anchors: number[] = [];
  for (let i = 0; i < personas.length * workers; i++) anchors.push(await pool.open(personas[Math.floor(i / workers)]!));
  // let the TTS threads synthesise them (the cast's sheets: tens of seconds of CPU per worker on a loaded machine)
  log(`lines synthesised for the trials in ${((await untilIdle()) / 1000).toFixed(0)} s`);
  const tag = recognition ? 'with recognition' : 'without recognition';
  let at24: { p50: number; p95: number; cpuMs: number; turns: TurnCounts } | undefined;

  async function trial(n: number) {
    const ids: number[] = [];
    for (let i = 0; i < n; i++) ids.push(await pool.open(personas[i % personas.length]!));
    const logged = rec.lines.length;
    const input = feeder(frames, n, n);
    const times: number[] = [];
    let errors = 0;
    let firstError: string | undefined;
    const warm = 15;
    // 12 s: about two turns per session (each session's track loops over four asks and four barge-ins in 50 s)
    const measured = 150;
    let cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let k = 0; k < warm + measured; k++) {
      if (k === warm) cpu0 = process.cpuUsage();
      const batch: StepInput[] = ids.map((session, i) => ({ session, input: input(k, i) }));
      const s = performance.now();
      const out = await pool.step(batch);
      const took = performance.now() - s;
      errors += out.filter((o) => o.error).length;
      firstError ??= out.find((o) => o.error)?.error?.message;
      if (k >= warm) times.push(took);
      const wait = t0 + (k + 1) * 80 - performance.now();
      if (wait > 0) await sleep(wait);
    }
    const cpu = process.cpuUsage(cpu0);
    for (const id of ids) await pool.close(id);
    await sleep(200); // the workers' last log records
    const p50 = percentile(times, 50);
    const p95 = percentile(times, 95);
    const turns = turnCounts(rec.lines.slice(logged));
    const cpuMs = (cpu.user + cpu.system) / 1000 / (measured * n);
    if (n === 24) at24 = { p50, p95, cpuMs, turns };
    log(
      `${n} sessions ${tag}: step p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, errors ${errors}${firstError ? ` (${firstError})` : ''}, process CPU ${cpuMs.toFixed(2)} ms per session-frame` +
        (recognition ? `; ${describeTurns(turns)}` : '') +
        `; load ${os.loadavg()[0]!.toFixed(1)}`,
    );
    return p95 <= 80 && errors === 0 && turns.givenUp === 0;
  }

  let good = 0;
  let bad = 0;
  for (const n of [24, 64, 128, 256]) {
    if (!(await trial(n))) {
      bad = n;
      break;
    }
    good = n;
  }
  if (bad && good) {
    const mid = Math.round((good + bad) / 2);
    if (await trial(mid)) good = mid;
  }
  await pool.dispose();
  const sfx = recognition ? '' : '_without_recognition';
  return {
    // Other processes share these cores; the load average says how much of them this figure had.
    [`rehearsal_loadavg_1m_during_realtime${sfx}`]: os.loadavg()[0]!,
    [`rehearsal_sessions_realtime${sfx}`]: good,
    [`rehearsal_sessions_realtime_searched_up_to${sfx}`]: bad || 256,
    [`rehearsal_step_p50_ms_24_sessions_pool${sfx}`]: at24?.p50 ?? NaN,
    [`rehearsal_step_p95_ms_24_sessions_pool${sfx}`]: at24?.p95 ?? NaN,
    [`rehearsal_process_cpu_ms_per_session_frame_24_sessions_pool${sfx}`]: at24?.cpuMs ?? NaN,
    ...(recognition
      ? {
          rehearsal_turns_24_sessions_count: at24?.turns.total ?? NaN,
          rehearsal_turns_decoded_24_sessions_count: at24?.turns.decoded ?? NaN,
          rehearsal_turns_late_24_sessions_count: at24?.turns.late ?? NaN,
          rehearsal_turns_given_up_24_sessions_count: at24?.turns.givenUp ?? NaN,
          rehearsal_turns_dropped_barge_in_24_sessions_count: at24?.turns.dropped ?? NaN,
          rehearsal_decoder_grammar_switches_24_sessions_count: at24?.turns.switches ?? NaN,
        }
      : { rehearsal_workers: workers, rehearsal_cores: os.availableParallelism() }),
  };
}

/** REHEARSAL_BENCH_ONLY=capacity runs only the CPU and real-time parts (with and without recognition). */
export default async function rehearsalBench(): Promise<Record<string, number>> {
  const only = process.env.REHEARSAL_BENCH_ONLY;
  let lat = {};
  let tts = {};
  if (only !== 'capacity') {
    log('barge-in and end-of-turn latency (in-thread, 30 conversations)…');
    lat = await latencies();
    tts = await ttsCost();
  }
  const frames = await traffic();
  const cast = castPersonas();
  log('CPU per session-frame (12 sessions of the cast, one thread, 80 ms ticks), with and without recognition…');
  const cpu = { ...(await cpuPerSessionFrame(frames, cast, true)), ...(await cpuPerSessionFrame(frames, cast, false)) };
  log('sessions sustained in real time (worker pool, 80 ms ticks, the cast), with and without recognition…');
  const rt = { ...(await sustained(frames, cast, true)), ...(await sustained(frames, cast, false)) };
  return { ...lat, ...cpu, ...tts, ...rt };
}
