/**
 * Latency as the player experiences it (issue 20): the NPC answering after the player stops (answer onset) and
 * the NPC stopping after the player talks over it (barge-in stop), end to end through the real server, stage by
 * stage, beside the engine alone on the same stimuli.
 *
 *   engine-only  the same player scripts stepped straight through the engine: input frame k and output frame k on
 *                one timeline (the engine's own decision time, nothing else).
 *   end to end   a real Parley server on 127.0.0.1 behind an impairment proxy the bench makes (bench/support/
 *                impaired-link.ts: 0, 20, 60 ms of jitter; 1% loss of voice frames when jittered), one player
 *                (a Colyseus client, PCM16, real-time 80 ms pacing) speaking synthesized speech. The NPC's voice
 *                is played through the plugin's own PlayoutBuffer on the player's clock (bench/support/
 *                playout-sim.ts) and measured as it leaves the speaker. Timings on the player's timeline: a frame
 *                is sent when its last sample has been "captured".
 *   pipeline     end to end minus the engine's own decision time, per NPC frame: the engine made output frame i
 *                from the player's frame s (the frame the server's uplink buffer gave that tick), so on the
 *                engine's own timeline it sounds at 80·s ms; the pipeline's share is when it was heard minus that.
 *                For an answer onset: the frame its first loud block played from; for a barge-in: the step that
 *                fell quiet for it, `paused` (hesitating) or else `interrupted`, heard when its event arrived
 *                (the plugin drops its buffered voice then). This includes
 *                the capture framing (one frame). Also reported: end to end minus engine-only paired act by act
 *                (noisier: the engine does not decide identically on the two runs).
 *
 * Stages (means, ms): capture framing (80, inherent), uplink network (proxy), the tick's phase against the
 * player's frames and the uplink jitter buffer (server histograms), tick work + engine step (server), downlink
 * network (proxy), playout buffer wait (arrival → first sample played). Targets: pipeline ≤ 100 ms p95 (answer
 * and barge-in), barge-in end to end ≤ 250 ms p95, ≤ 1 underrun per minute per NPC voice at 60 ms / 1%.
 *
 * The personaplex-server engine is measured against its stand-in (tests/personaplex-server/stand-in-server.ts,
 * echo mode, a separate process): the stand-in echoes what it hears, so "answer onset" is the echo's onset after
 * a burst starts and "stop" the echo's end after the burst ends.
 *
 * Env: PARLEY_LATENCY_CASES (interruption cases, default 12), PARLEY_LATENCY_JITTER (default 0,20,60; none: engine-only),
 * PARLEY_LATENCY_ENGINES (default rehearsal,personaplex-server), PARLEY_LATENCY_TURNS (JSON rehearsal turn-taking options to try).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { matchMaker } from '@colyseus/core';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FRAME_SAMPLES } from '../protocol/frame.ts';
import { rms } from '../protocol/dsp/level.ts';
import { Kind, PARLEY_CHANNEL } from '../protocol/messages.ts';
import { decodeServer } from '../protocol/envelope.ts';
import type { DuplexEngine, Persona } from '../server/engines/contract.ts';
import { startRehearsalEngine } from '../server/engines/rehearsal/index.ts';
import type { TurnTakingOptions } from '../server/engines/rehearsal/turn-taking.ts';
import { PersonaPlexServerEngine } from '../server/engines/personaplex-server/engine.ts';
import { createDecoder } from '../server/codec/index.ts';
import { TestPlayer } from '../tests/support/test-player.ts';
import { inlineNpcs, startTestServer, type RunningServer } from '../tests/support/test-server.ts';
import { sleep } from '../tests/support/time.ts';
import { startImpairedLink, type ImpairedLink } from './support/impaired-link.ts';
import { percentile as pct } from './support/percentile.ts';
import { playOut, type Arrival } from './support/playout-sim.ts';
import { TUNING_SPEAKERS, speak } from './support/speakers.ts';
import type { Recording } from './support/turn-metrics.ts';
import { HeardTrack, runEngineOnly } from './support/turn-runners.ts';
import { PlayerScript } from './support/turn-scenarios.ts';
import { TURNS_NPC } from './turns.bench.ts';

const SR = 24_000;
const say = (s: string) => process.stderr.write(`  ${s}\n`);
const CASES = Number(process.env.PARLEY_LATENCY_CASES ?? 12);
/** 'none': engine-only figures alone */
const JITTERS = (process.env.PARLEY_LATENCY_JITTER ?? '0,20,60').split(',').filter((j) => j !== 'none').map(Number);
const ENGINES = (process.env.PARLEY_LATENCY_ENGINES ?? 'rehearsal,personaplex-server').split(',');
/** PARLEY_LATENCY_TURNS='{"bargeInMs":64}': rehearsal turn-taking options to try (experiments; default: the engine's own) */
const TURNS = process.env.PARLEY_LATENCY_TURNS ? (JSON.parse(process.env.PARLEY_LATENCY_TURNS) as TurnTakingOptions) : undefined;
const startRehearsal = () => startRehearsalEngine({ engine: { quiet: true, ...(TURNS ? { turnTaking: TURNS } : {}) } });

// ---- statistics ---------------------------------------------------------------------------------------------

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/** A histogram's mean (ms) from the server's metrics registry. */
function histMeanMs(running: RunningServer, name: string): number {
  const h = running.server.metrics.registry.histogramNamed(name);
  return h && h.count > 0 ? (h.sum / h.count) * 1000 : NaN;
}

// ---- the player's scripts -----------------------------------------------------------------------------------

const QUESTIONS = [
  'Captain, what is going on with the reactor?',
  'Where should I go first?',
  'Is anybody hurt down there?',
  'How much time do we have left?',
  'Could you open the hatch for me?',
  'The radio has been silent since noon.',
];
const INTERRUPTIONS = ['Wait, stop, I have a question.', 'Hold on a second, that is not what I asked.', 'Sorry to interrupt, but listen to me.', 'No, no, wait, go back.'];

/** One player, CASES times: ask, let the answer run 0.7–1.5 s, talk over it, wait for quiet. */
export async function script(): Promise<PlayerScript> {
  const speakers = TUNING_SPEAKERS.slice(0, 3);
  const p = new PlayerScript(speakers[0]!, 'tuning');
  p.quiet(1200, 2500); // the greeting
  for (let k = 0; k < CASES; k++) {
    const s = speakers[k % speakers.length]!;
    const ask = p.say('interrupt', await speak(s, QUESTIONS[k % QUESTIONS.length]!));
    const text = INTERRUPTIONS[k % INTERRUPTIONS.length]!;
    p.over(ask, await speak(s, text), 700 + ((k * 337) % 800), text);
    p.quiet(1500, 2500);
  }
  return p;
}

// ---- end to end ---------------------------------------------------------------------------------------------

interface EndToEnd {
  rec: Recording;
  /** the pipeline's own share (ms), at answer onsets and barge-ins */
  pipeAnswer: number[];
  pipeStop: number[];
  /** every voiced NPC frame's pipeline share (ms) */
  pipeFrames: number[];
  link: ImpairedLink;
  played: ReturnType<typeof playOut>;
  stages: Record<string, number>;
}

/**
 * The engine, watched: for each step of a session, which of the player's frames the server's uplink buffer had
 * just given the hearing stage (read from the room on the same thread, right before the step).
 */
function watched(engine: DuplexEngine, seqNow: () => number | null) {
  const inputSeq = new Map<number, (number | null)[]>();
  /** with PARLEY_LATENCY_DUMP: each session's hearing input, frame by frame, as the engine got it */
  const inputs = new Map<number, Float32Array[]>();
  const proxy = new Proxy(engine, {
    get(target, prop) {
      if (prop === 'step') {
        return async (batch: Parameters<DuplexEngine['step']>[0]) => {
          const seq = seqNow();
          for (const b of batch) {
            const list = inputSeq.get(b.session as number) ?? [];
            list.push(seq);
            inputSeq.set(b.session as number, list);
            if (process.env.PARLEY_LATENCY_DUMP) {
              const xs = inputs.get(b.session as number) ?? [];
              xs.push(b.input.slice());
              inputs.set(b.session as number, xs);
            }
          }
          return target.step(batch);
        };
      }
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { engine: proxy, inputSeq, inputs };
}

async function runEndToEnd(engine0: DuplexEngine, persona: Persona, jitterMs: number, make: () => Promise<PlayerScript>): Promise<EndToEnd> {
  let roomId = '';
  const seqNow = () => {
    if (!roomId) return null;
    const room = matchMaker.getLocalRoomById(roomId) as unknown as { players?: Map<string, { intake: { buffer: unknown } | null }> } | undefined;
    const link = room?.players ? [...room.players.values()][0] : undefined;
    const buf = link?.intake?.buffer as { lastSeq?: number } | undefined;
    return buf?.lastSeq ?? null;
  };
  const w = watched(engine0, seqNow);
  const engine = w.engine;
  const running = await startTestServer(engine, {
    npcs: inlineNpcs({ npc0: { name: persona.name, hearingRadius: 6, audibleRadius: 12, persona: { ...persona, id: 'npc0' } } }),
    rooms: { lat: { npcs: [{ sheet: 'npc0', position: [0, 0, 0], facing: [0, 0, 1] }] } },
  });
  const link = await startImpairedLink(running.url, { jitterMs, loss: jitterMs > 0 ? 0.01 : 0, seed: 7 + jitterMs });
  const player = new TestPlayer(link.url, 'pcm16');
  const scriptNow = await make();
  try {
    await player.join('lat');
    roomId = player.room.roomId;
    await player.hello();
    player.pose([0, 0, 1.2], [0, 0, -1]);
    // Arrival times on this clock (the TestPlayer's own records carry Date.now(); this listener is exact).
    const arrivals: Arrival[] = [];
    const flushes: number[] = [];
    /** the event that made each barge-in audible: a pause, or an interruption that no pause came before */
    const stops: { at: number; i: number }[] = [];
    let paused = false;
    const texts: { i: number; piece: string }[] = [];
    const dec = createDecoder('pcm16');
    player.room.onMessage(PARLEY_CHANNEL, (bytes: Uint8Array) => {
      const m = decodeServer(bytes);
      const at = performance.now();
      if (m.k === Kind.NpcVoice) arrivals.push({ at, i: m.i, samples: dec.decode(m.data) });
      else if (m.k === Kind.NpcEvent && (m.e === 'interrupted' || m.e === 'paused')) {
        flushes.push(at);
        if (!paused) stops.push({ at, i: m.i });
        paused = m.e === 'paused';
      } else if (m.k === Kind.NpcEvent && m.e === 'resumed') paused = false;
      else if (m.k === Kind.Text) texts.push({ i: m.i, piece: m.piece });
    });
    const heard = new HeardTrack(); // what the script reacts to: audio as it arrives
    const mine: Float32Array[] = [];
    let placed = 0;
    const t0 = performance.now() + 200;
    let tail = 40;
    for (let n = 0; tail > 0; n++) {
      const wait = t0 + 80 * (n + 1) - performance.now();
      if (wait > 0) await sleep(wait);
      for (; placed < arrivals.length; placed++) heard.put(arrivals[placed]!.samples, Math.round(((arrivals[placed]!.at - t0) * SR) / 1000));
      heard.advance(Math.round(((performance.now() - t0) * SR) / 1000));
      const x = scriptNow.next(FRAME_SAMPLES, heard);
      mine.push(x);
      player.voiceFrame(x);
      if (scriptNow.done) tail--;
    }
    await sleep(400);
    const endAt = performance.now();
    const played = playOut(arrivals, flushes, t0, endAt);
    // PARLEY_LATENCY_DUMP=dir: each run's NPC frame arrivals (ms from t0, frame index, RMS) and flush times, to study the buffer offline
    if (process.env.PARLEY_LATENCY_DUMP) {
      const file = path.join(process.env.PARLEY_LATENCY_DUMP, `arrivals-${engine0.name}-j${jitterMs}-${Date.now()}.json`);
      await writeFile(file, JSON.stringify({ arrivals: arrivals.map((a) => [+(a.at - t0).toFixed(2), a.i, +rms(a.samples).toFixed(4)]), flushes: flushes.map((f) => +(f - t0).toFixed(2)), endMs: endAt - t0 }));
      // the engine's hearing input (the longest session), float32 frames back to back, and the player's own track
      const heardIn = [...w.inputs.values()].sort((a, b) => b.length - a.length)[0] ?? [];
      const flat = new Float32Array(heardIn.length * FRAME_SAMPLES);
      heardIn.forEach((x, k) => flat.set(x, k * FRAME_SAMPLES));
      await writeFile(file.replace(/\.json$/, '.input.f32'), new Uint8Array(flat.buffer));
    }
    const pieces = texts.filter((t) => played.startedAt.has(t.i)).map((t) => ({ at: played.startedAt.get(t.i)!, piece: t.piece }));
    const playerTrack = new Float32Array(mine.length * FRAME_SAMPLES);
    mine.forEach((x, k) => playerTrack.set(x, k * FRAME_SAMPLES));
    const stages = {
      uplink_net: mean(link.delays.up),
      tick_phase: histMeanMs(running, 'parley_uplink_tick_wait_seconds'),
      uplink_buffer: histMeanMs(running, 'parley_uplink_buffer_wait_seconds'),
      tick_and_step: histMeanMs(running, 'parley_tick_duration_seconds'),
      downlink_net: mean(link.delays.down),
      playout_wait: mean(played.waits),
      playout_wait_p95: pct(played.waits, 95),
    };
    // The pipeline's share per NPC frame: heard at − 80·(player frame it was made from) on the player's clock.
    const seqs = [...w.inputSeq.values()].sort((a, b) => b.length - a.length)[0] ?? [];
    const engineAt = (i: number) => (seqs[i] != null ? t0 + 80 * seqs[i]! : NaN);
    const heardAt = (i: number) => (played.startedAt.has(i) ? t0 + (played.startedAt.get(i)! / SR) * 1000 : NaN);
    const pipeFrames: number[] = [];
    for (const a of arrivals) {
      if (rms(a.samples) > 0.01) {
        const v = heardAt(a.i) - engineAt(a.i);
        if (v === v) pipeFrames.push(v);
      }
    }
    const pipeStop = stops.map((st) => st.at - engineAt(st.i)).filter((v) => v === v);
    // answer onsets: the NPC frame whose first sample starts the loud run after each question
    const rec = { npc: played.track, pieces, player: playerTrack, said: scriptNow.said };
    if (process.env.PARLEY_LATENCY_DUMP) {
      // the NPC as heard and the player's own track (24 kHz float32, sample 0 at t0), what was said when, and
      // which player frame each NPC frame was made from: enough to replay a case's timeline offline
      const base = path.join(process.env.PARLEY_LATENCY_DUMP, `case-${engine0.name}-j${jitterMs}-${Date.now()}`);
      await writeFile(`${base}.npc.f32`, new Uint8Array(rec.npc.buffer, rec.npc.byteOffset, rec.npc.byteLength));
      await writeFile(`${base}.player.f32`, new Uint8Array(playerTrack.buffer));
      await writeFile(`${base}.json`, JSON.stringify({ said: rec.said.map((x) => ({ kind: x.kind, start: x.start, end: x.end, over: x.over ?? null })), inputSeq: seqs, flushes: flushes.map((f) => +(f - t0).toFixed(2)) }));
    }
    const byStart = [...played.startedAt.entries()].sort((a, b) => a[1] - b[1]);
    const pipeAnswer: number[] = [];
    for (const s of rec.said) {
      if (s.start < 0) continue;
      const onset = onsetSample(rec.npc, s.end);
      if (onset === null) continue;
      const frame = byStart.filter(([, at]) => at <= onset).at(-1);
      if (!frame) continue;
      const v = heardAt(frame[0]) - engineAt(frame[0]);
      if (v === v) pipeAnswer.push(v);
    }
    return { rec, link, played, stages, pipeAnswer, pipeStop, pipeFrames };
  } finally {
    await player.leave();
    await link.close();
    await running.stop();
  }
}

// ---- figures ------------------------------------------------------------------------------------------------

interface CaseTimes {
  answer: (number | null)[];
  stop: (number | null)[];
}


/** The sample where the NPC's first loud run after `from` starts (walking back if it was already talking). */
function onsetSample(npc: Float32Array, from: number): number | null {
  const loud = loudBlocks(npc);
  const end = Math.floor(from / BLOCK);
  let on = -1;
  for (let b = end; b < Math.min(loud.length, end + 250); b++) if (loud[b]) (on = b), (b = Infinity);
  if (on === end) while (on > 0 && loud[on - 1]) on--;
  return on >= 0 ? on * BLOCK : null;
}

/** 20 ms blocks of the NPC track above -40 dBFS. */
function loudBlocks(x: Float32Array): boolean[] {
  const out: boolean[] = [];
  for (let b = 0; (b + 1) * BLOCK <= x.length; b++) out.push(rms(x.subarray(b * BLOCK, (b + 1) * BLOCK)) > 0.01);
  return out;
}
const BLOCK = 480;

/**
 * Per act, on the player's timeline: answer onset = the NPC's first loud block after the question ends (the
 * start of its run of speech if it was already talking); barge-in stop = from the start of the talk-over to the
 * start of the NPC's first 200 ms of quiet after it (null when the NPC was not talking when the player cut in).
 */
export function caseTimes(rec: Recording): CaseTimes {
  const loud = loudBlocks(rec.npc);
  const ms = (blocks: number) => ((blocks * BLOCK) / SR) * 1000;
  const answer: (number | null)[] = [];
  const stop: (number | null)[] = [];
  for (const s of rec.said) {
    if (s.kind !== 'interrupt' || s.start < 0) continue;
    const end = Math.floor(s.end / BLOCK);
    let on = -1;
    for (let b = end; b < Math.min(loud.length, end + 250); b++) if (loud[b]) (on = b), (b = Infinity);
    if (on === end) while (on > 0 && loud[on - 1]) on--;
    answer.push(on >= 0 ? ms(on) - (s.end / SR) * 1000 : null);
    const o = s.over;
    if (!o) {
      stop.push(null);
      continue;
    }
    const b0 = Math.floor(o.start / BLOCK);
    if (!loud.slice(Math.max(0, b0 - 10), b0 + 1).some(Boolean)) {
      stop.push(null);
      continue;
    }
    let quietAt = -1;
    for (let b = b0; b + 10 <= loud.length && b < b0 + 250; b++) {
      if (!loud.slice(b, b + 10).some(Boolean)) {
        quietAt = b;
        break;
      }
    }
    stop.push(quietAt >= 0 ? ms(quietAt) - (o.start / SR) * 1000 : null);
  }
  return { answer, stop };
}

function paired(e2e: (number | null)[], eng: (number | null)[]): number[] {
  const out: number[] = [];
  for (let k = 0; k < Math.min(e2e.length, eng.length); k++) if (e2e[k] != null && eng[k] != null) out.push(e2e[k]! - eng[k]!);
  return out;
}

const present = (xs: (number | null)[]) => xs.filter((x): x is number => x != null);

function report(prefix: string, label: string, e2e: CaseTimes, eng: CaseTimes, run: EndToEnd, figures: Record<string, number>) {
  const a = present(e2e.answer);
  const s = present(e2e.stop);
  const pa = paired(e2e.answer, eng.answer);
  const ps = paired(e2e.stop, eng.stop);
  const p = run.played;
  const row = {
    [`${prefix}.pipeline_answer_ms_p50`]: pct(run.pipeAnswer, 50),
    [`${prefix}.pipeline_answer_ms_p95`]: pct(run.pipeAnswer, 95),
    [`${prefix}.pipeline_stop_ms_p50`]: pct(run.pipeStop, 50),
    [`${prefix}.pipeline_stop_ms_p95`]: pct(run.pipeStop, 95),
    [`${prefix}.pipeline_frames_ms_p50`]: pct(run.pipeFrames, 50),
    [`${prefix}.pipeline_frames_ms_p95`]: pct(run.pipeFrames, 95),
    [`${prefix}.answer_e2e_ms_p50`]: pct(a, 50),
    [`${prefix}.answer_e2e_ms_p95`]: pct(a, 95),
    [`${prefix}.answer_paired_diff_ms_p50`]: pct(pa, 50),
    [`${prefix}.answer_paired_diff_ms_p95`]: pct(pa, 95),
    [`${prefix}.stop_e2e_ms_p50`]: pct(s, 50),
    [`${prefix}.stop_e2e_ms_p95`]: pct(s, 95),
    [`${prefix}.stop_paired_diff_ms_p50`]: pct(ps, 50),
    [`${prefix}.stop_paired_diff_ms_p95`]: pct(ps, 95),
    [`${prefix}.cases`]: Math.min(pa.length, ps.length),
    [`${prefix}.underruns_per_min`]: p.underruns / p.minutes,
    [`${prefix}.lost_concealed_per_min`]: p.lost / p.minutes,
    [`${prefix}.late_in_silence_per_min`]: p.lateInSilence / p.minutes,
    [`${prefix}.playout_target_ms_p50`]: pct(p.targets, 50),
    ...Object.fromEntries(Object.entries(run.stages).map(([k, v]) => [`${prefix}.stage_${k}_ms`, v])),
  };
  Object.assign(figures, row);
  const f = (xs: number[]) => `${pct(xs, 50).toFixed(0)}/${pct(xs, 95).toFixed(0)}`;
  say(`${label}: pipeline share p50/p95 ms: answer onset ${f(run.pipeAnswer)} (n=${run.pipeAnswer.length}), barge-in ${f(run.pipeStop)} (n=${run.pipeStop.length}), every voiced frame ${f(run.pipeFrames)}`);
  say(
    `${label}: answer ${pct(a, 50).toFixed(0)}/${pct(a, 95).toFixed(0)} ms (paired diff ${pct(pa, 50).toFixed(0)}/${pct(pa, 95).toFixed(0)}), ` +
      `stop ${pct(s, 50).toFixed(0)}/${pct(s, 95).toFixed(0)} ms (paired diff ${pct(ps, 50).toFixed(0)}/${pct(ps, 95).toFixed(0)}) p50/p95, ` +
      `${pa.length}/${ps.length} paired cases, ${(p.underruns / p.minutes).toFixed(1)} underruns/min (late frames; ${(p.lost / p.minutes).toFixed(1)}/min ran dry at a lost frame), ` +
      `lost up/down ${run.link.dropped.up}/${run.link.dropped.down}`,
  );
  say(`  stages (mean ms): framing 80 | ${Object.entries(run.stages).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(' | ')}`);
  const byCase = (xs: (number | null)[]) => xs.map((x) => (x == null ? '-' : x.toFixed(0))).join(' ');
  say(`  by case (ms): stop ${byCase(e2e.stop)} | answer ${byCase(e2e.answer)} | answer pipeline share ${byCase(run.pipeAnswer)}`);
}

async function rehearsal(figures: Record<string, number>) {
  const engine = await startRehearsal();
  let eng: CaseTimes;
  try {
    say(`rehearsal, engine-only: ${CASES} interruption cases`);
    const [engRec] = await runEngineOnly(engine, TURNS_NPC, [await script()]);
    eng = caseTimes(engRec!);
    const ea = present(eng.answer);
    const es = present(eng.stop);
    Object.assign(figures, {
      'latency.rehearsal.engine.answer_ms_p50': pct(ea, 50),
      'latency.rehearsal.engine.answer_ms_p95': pct(ea, 95),
      'latency.rehearsal.engine.stop_ms_p50': pct(es, 50),
      'latency.rehearsal.engine.stop_ms_p95': pct(es, 95),
    });
    say(`engine-only: answer ${pct(ea, 50).toFixed(0)}/${pct(ea, 95).toFixed(0)} ms, stop ${pct(es, 50).toFixed(0)}/${pct(es, 95).toFixed(0)} ms (p50/p95)`);
    say(`engine-only stops by case (ms): ${eng.stop.map((x) => (x == null ? '-' : x.toFixed(0))).join(' ')}`);
    say(`engine-only answers by case (ms): ${eng.answer.map((x) => (x == null ? "-" : x.toFixed(0))).join(" ")}`);
  } finally {
    await engine.dispose?.();
  }
  for (const j of JITTERS) {
    say(`rehearsal, end to end, jitter ${j} ms${j ? ', 1% loss' : ''} (real time, about ${Math.round(CASES * 8)} s)`);
    // a fresh engine per server: a server's shutdown disposes of its engine
    const run = await runEndToEnd(await startRehearsal(), TURNS_NPC, j, script);
    report(`latency.rehearsal.j${j}`, `jitter ${j} ms`, caseTimes(run.rec), eng, run, figures);
  }
}

// ---- personaplex-server against its stand-in (echo) ---------------------------------------------------------

const BURSTS = 10;

/** Tone-like bursts 1.2 s long, 3 s apart: the stand-in echoes each. */
function burstScript(): PlayerScript {
  const p = new PlayerScript(TUNING_SPEAKERS[0]!, 'tuning');
  p.quiet(0, 1500);
  for (let k = 0; k < BURSTS; k++) {
    const x = Float32Array.from({ length: Math.round(1.2 * SR) }, (_, i) => 0.25 * Math.sin((2 * Math.PI * (220 + 40 * k) * i) / SR));
    p.say('smooth', x);
    p.quiet(0, 1800 + ((k * 173) % 400));
  }
  return p;
}

function echoTimes(rec: Recording): CaseTimes {
  const BLOCK = 240;
  const loud: boolean[] = [];
  for (let b = 0; (b + 1) * BLOCK <= rec.npc.length; b++) {
    let e = 0;
    for (let i = b * BLOCK; i < (b + 1) * BLOCK; i++) e += rec.npc[i]! * rec.npc[i]!;
    loud.push(Math.sqrt(e / BLOCK) > 0.02);
  }
  const answer: (number | null)[] = [];
  const stop: (number | null)[] = [];
  for (const s of rec.said) {
    if (s.start < 0) continue;
    const b0 = Math.floor(s.start / BLOCK);
    let on = -1;
    for (let b = b0; b < Math.min(loud.length, b0 + Math.round((1.0 * SR) / BLOCK)); b++) if (loud[b]) (on = b), (b = Infinity);
    answer.push(on >= 0 ? ((on * BLOCK - s.start) / SR) * 1000 : null);
    let last = -1;
    for (let b = b0; b < Math.min(loud.length, Math.floor((s.end + 1.0 * SR) / BLOCK)); b++) if (loud[b]) last = b;
    stop.push(last >= 0 ? (((last + 1) * BLOCK - s.end) / SR) * 1000 : null);
  }
  return { answer, stop };
}

/**
 * Engine-only for an engine behind a network (the stand-in server): stepped at real-time pace, since its output
 * frame k is what the server has sent back by step k; the server's own latency is the engine's decision time.
 */
async function runPaced(engine: DuplexEngine, persona: Persona, script: PlayerScript): Promise<Recording> {
  const session = await engine.open(persona);
  const ready = (engine as { ready?: (s: unknown) => Promise<void> }).ready;
  if (ready) await ready.call(engine, session).catch(() => undefined);
  const heard = new HeardTrack();
  const mine: Float32Array[] = [];
  const t0 = performance.now();
  try {
    for (let frame = 0, tail = 40; tail > 0; frame++) {
      const x = script.next(FRAME_SAMPLES, heard);
      if (script.done) tail--;
      mine.push(x);
      const [o] = await engine.step([{ session, input: x }]);
      heard.put(o!.output, frame * FRAME_SAMPLES);
      await sleep(Math.max(0, t0 + 80 * (frame + 1) - performance.now()));
    }
  } finally {
    await engine.close(session).catch(() => undefined);
  }
  const player = new Float32Array(mine.length * FRAME_SAMPLES);
  mine.forEach((x, k) => player.set(x, k * FRAME_SAMPLES));
  return { npc: heard.audio(), pieces: [], player, said: script.said };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Wait until the stand-in answers HTTP, its 404 for GET / as the real server's (a loaded machine takes a while to start a tsx process). */
async function untilAnswers(port: number) {
  for (let k = 0; k < 360; k++) {
    const ok = await fetch(`http://127.0.0.1:${port}/`).then(() => true, () => false);
    if (ok) return;
    await sleep(250);
  }
  throw new Error('the PersonaPlex stand-in did not come up in 90 s');
}

async function personaplexServer(figures: Record<string, number>) {
  const FAKE = fileURLToPath(new URL('../tests/personaplex-server/fake-moshi-server.ts', import.meta.url));
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', FAKE, '--port', String(port), '--load-ms', '0', '--echo'], { stdio: 'ignore' });
  const persona: Persona = { id: 'pps', name: 'Echo', textPrompt: 'You are a bench.', voice: { kind: 'builtin', id: 'NATM1' } };
  try {
    await untilAnswers(port);
    const start = () => PersonaPlexServerEngine.start({ servers: [{ url: `http://127.0.0.1:${port}`, capacity: 1 }], codec: 'worker' });
    const engine = await start();
    let eng: CaseTimes;
    try {
      say(`personaplex-server (stand-in, echo), engine-only: ${BURSTS} bursts`);
      eng = echoTimes(await runPaced(engine, persona, burstScript()));
      const ea = present(eng.answer);
      const es = present(eng.stop);
      Object.assign(figures, {
        'latency.pps.engine.answer_ms_p50': pct(ea, 50),
        'latency.pps.engine.answer_ms_p95': pct(ea, 95),
        'latency.pps.engine.stop_ms_p50': pct(es, 50),
        'latency.pps.engine.stop_ms_p95': pct(es, 95),
      });
      say(`engine-only: echo onset ${pct(ea, 50).toFixed(0)}/${pct(ea, 95).toFixed(0)} ms, echo end ${pct(es, 50).toFixed(0)}/${pct(es, 95).toFixed(0)} ms (p50/p95)`);
    } finally {
      await engine.dispose();
    }
    for (const j of [JITTERS[0]!, JITTERS.at(-1)!].filter((v, i, a) => a.indexOf(v) === i)) {
      say(`personaplex-server, end to end, jitter ${j} ms${j ? ', 1% loss' : ''}`);
      // a fresh engine per server: a server's shutdown disposes of its engine
      const run = await runEndToEnd(await start(), persona, j, async () => burstScript());
      report(`latency.pps.j${j}`, `jitter ${j} ms`, echoTimes(run.rec), eng, run, figures);
    }
  } finally {
    child.kill();
  }
}

export default async function bench(): Promise<Record<string, number>> {
  const figures: Record<string, number> = {};
  if (ENGINES.includes('rehearsal')) await rehearsal(figures);
  if (ENGINES.includes('personaplex-server')) await personaplexServer(figures);
  return figures;
}
