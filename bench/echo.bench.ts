/**
 * Echo figures (issue 15): an NPC on loudspeakers must never hear itself. No real room here, so simulated rooms
 * (tests/echo/support/room.ts: delays 20–250 ms, synthetic RIRs with RT60 0.2–0.8 s, gains −20..0 dB, a
 * clipping loudspeaker, a path change mid-stream), with the NPC's espeak voice as what the speakers play.
 *
 *   echo_erle_*            the plugin's canceller (plugin/aec/aec3-canceller.ts: WebRTC's AEC3, the code the capture
 *                          worklet runs) in Node on the whole path matrix: ERLE from 2 s and from 6 s on (mic echo
 *                          power / residual power, far end active), and the time from which every later 0.5 s
 *                          window reaches 25 dB
 *   echo_speex_*           the same matrix for speexdsp's canceller (plugin/aec/echo-canceller.ts), the one the
 *                          server's echo gate runs, in the same run (the plugin's canceller until stop 30)
 *   echo_worklet_*         the capture worklet itself under node-web-audio-api (48 kHz context, the room built
 *                          from Web Audio nodes), ERLE from its per-frame powers, and its audio-thread cost
 *   echo_chromium_*        the built plugin in headless Chromium, the page's own output fed back through the
 *                          room by the test-only hook (tests/echo/support/browser-echo.ts)
 *   echo_*_ms_per_frame    canceller cost per 80 ms frame: capture worklet (client) and server gate (per player)
 *   echo_aec_added_latency_ms  how late the canceller's output is against the mic (client and gate alike)
 *   echo_selftalk_*        closed loop (tests/echo/support/loop.ts): minutes of NPC speech into the speakers, no
 *                          player at all, through the real rehearsal engine: false barge-ins, false pauses (the
 *                          default hesitation taking its own voice for a player, then carrying on) and self-answers,
 *                          before (no echo handling) and after (client canceller + server gate, each alone too);
 *                          and the NPC's own level in its hearing mix (dBFS, frames while its echo arrives)
 *   echo_doubletalk_*      the player cutting in over the NPC: engine-timeline stop latency on a loud room with the
 *                          client canceller alone (client_aec: the default), with both lines (aec), and with no
 *                          echo at all (headphones)
 *   echo_player_*          double-talk cost of each canceller: the player's level through it while talking over the
 *                          NPC (120 ms, RT60 0.5 s, −20/−6/0 dB; the player 1.5, 3, 5, 9 s in), first 500 ms and
 *                          whole line, worst case
 *   echo_lever_*           PARLEY_ECHO_LEVERS=1 only: the speex path matrix again with one setting changed at a
 *                          time (speex block, filter tail, step-size tracking speed), each with its double-talk cost
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Aec3Canceller, type Aec3CancellerOptions } from '../plugin/aec/aec3-canceller.ts';
import { EchoCanceller, type EchoCancellerOptions } from '../plugin/aec/echo-canceller.ts';
import { sumOfSquares } from '../protocol/dsp/level.ts';
import { FRAME_SAMPLES } from '../protocol/frame.ts';
import { PlayerEchoGate } from '../server/voice/echo-gate.ts';
import { EchoPath, seeded, type EchoPathSpec } from '../tests/echo/support/room.ts';
import { cancelThroughRoom, type StreamCanceller } from '../tests/echo/support/through-room.ts';
import { hasChromium } from '../tests/plugin/support/chromium.ts';
import { doubleTalk, loopEngine, percentile, type RehearsalEngine, selfTalk } from '../tests/echo/support/scenarios.ts';
import { db, erleOf, erleOfFrames, npcSpeech, playerSpeech } from '../tests/echo/support/signals.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const say = (s: string) => process.stderr.write(`  ${s}\n`);
const wasm = readFileSync(path.join(root, 'plugin/aec/speexdsp-aec.wasm'));
const aec3 = new WebAssembly.Module(readFileSync(path.join(root, 'plugin/aec/webrtc-aec3.wasm')));

type MakeCanceller = () => StreamCanceller & { dispose(): void };
/** the plugin's (capture worklet's) canceller; PARLEY_ECHO_AEC3 (JSON Aec3CancellerOptions) tries other settings */
const CLIENT_OPTIONS: Aec3CancellerOptions = JSON.parse(process.env.PARLEY_ECHO_AEC3 ?? '{}');
const clientCanceller: MakeCanceller = () => new Aec3Canceller(aec3, CLIENT_OPTIONS);
/** speexdsp's, as the server's echo gate runs it, with `options` */
const speexCanceller = (options: EchoCancellerOptions = {}): MakeCanceller => () => new EchoCanceller(wasm, options);
const SELF_TALK_S = Number(process.env.PARLEY_ECHO_SELFTALK_S ?? 300);
const DOUBLE_TALK_TRIALS = Number(process.env.PARLEY_ECHO_DOUBLETALK_TRIALS ?? 20);

function cancel(far: Float32Array, spec: EchoPathSpec, make: MakeCanceller, changeAt?: { s: number; spec: EchoPathSpec }, near?: Float32Array) {
  const aec = make();
  const { echo, out } = cancelThroughRoom(aec, spec, far, { near, changeAt });
  aec.dispose();
  return { echo, out };
}

export async function matrix(far: Float32Array, make: MakeCanceller, quiet = false) {
  const steady: number[] = [];
  const late: number[] = [];
  const converged: number[] = [];
  let never = 0;
  for (const delayMs of [20, 120, 250]) {
    for (const rt60 of [0.2, 0.5, 0.8]) {
      const row: string[] = [];
      for (const gainDb of [-20, -6, 0]) {
        const { echo, out } = cancel(far, { delayMs, rt60, gainDb, seed: delayMs + gainDb }, make);
        const r = erleOf(echo, out, far);
        const after6 = erleOf(echo, out, far, { settledFrom: 6 }).steadyDb;
        steady.push(r.steadyDb);
        late.push(after6);
        if (Number.isNaN(r.convergedS)) never++;
        else converged.push(r.convergedS);
        row.push(`${gainDb} dB: ${r.steadyDb.toFixed(1)} dB (from 6 s ${after6.toFixed(1)}), 25 dB from ${Number.isNaN(r.convergedS) ? 'never' : `${r.convergedS.toFixed(1)} s`}`);
      }
      if (!quiet) say(`delay ${delayMs} ms, RT60 ${rt60} s → ${row.join(' | ')}`);
    }
  }
  const clip = cancel(far, { delayMs: 60, rt60: 0.4, gainDb: 0, clipping: true }, make);
  const clipR = erleOf(clip.echo, clip.out, far);
  if (!quiet) say(`clipping loudspeaker (60 ms, RT60 0.4 s, 0 dB): ${clipR.steadyDb.toFixed(1)} dB`);
  // the player turns their head / the NPC walks: another delay, room response and level at 8 s
  const moved = cancel(far, { delayMs: 60, rt60: 0.4, gainDb: -6 }, make, { s: 8, spec: { delayMs: 180, rt60: 0.6, gainDb: -3, seed: 9 } });
  const movedR = erleOf(moved.echo, moved.out, far, { settledFrom: 10 });
  const after = movedR.windows.filter((w) => w.at >= 8);
  const back = after.findIndex((w, i) => after.slice(i).every((x) => x.db >= 25));
  const reconverge = back < 0 ? NaN : after[back]!.at - 8;
  if (!quiet) {
    say(`path change at 8 s: ERLE from 10 s ${movedR.steadyDb.toFixed(1)} dB, back at 25 dB ${Number.isNaN(reconverge) ? 'never' : `${reconverge.toFixed(1)} s`} after`);
    say(`  windows after the change: ${after.map((w) => w.db.toFixed(0)).join(' ')}`);
  }
  return {
    echo_erle_from6s_db_worst: Math.min(...late),
    echo_erle_from6s_db_median: percentile(late, 50),
    echo_erle_from6s_cases_at_25db_count: late.filter((d) => d >= 25).length,
    echo_erle_steady_db_worst: Math.min(...steady),
    echo_erle_steady_db_median: percentile(steady, 50),
    echo_erle_cases_count: steady.length,
    echo_erle_cases_at_25db_count: steady.filter((d) => d >= 25).length,
    echo_converge_25db_s_median: percentile(converged, 50),
    echo_converge_25db_s_worst: converged.length ? Math.max(...converged) : NaN,
    echo_converge_25db_never_count: never,
    echo_converge_within_2s_count: converged.filter((s) => s <= 2).length,
    echo_erle_clipping_db: clipR.steadyDb,
    echo_erle_path_change_db: movedR.steadyDb,
    echo_path_change_reconverge_s: reconverge,
  };
}

/** The player cutting in over the NPC: one line, starting 1.5, 3, 5 and 9 s into the NPC's speech. */
async function playerCuts(): Promise<{ leadMs: number; near: Float32Array }[]> {
  const cuts: { leadMs: number; near: Float32Array }[] = [];
  for (const leadMs of [1500, 3000, 5000, 9000]) cuts.push({ leadMs, near: (await playerSpeech(['Wait, stop, I have a question about the valves.'], { leadMs })).samples });
  return cuts;
}

/**
 * What a canceller does to the player talking over the NPC (120 ms, RT60 0.5 s, −20/−6/0 dB; the player 1.5, 3, 5
 * and 9 s in): the player's level out of the canceller against their own, over their first 500 ms and over the
 * whole line, worst case (dB; 0 is untouched).
 */
function playerCost(far: Float32Array, make: MakeCanceller, cuts: { leadMs: number; near: Float32Array }[]) {
  const power = (x: Float32Array, a: number, b: number) => sumOfSquares(x.subarray(a, b));
  let onset = 0;
  let whole = 0;
  for (const { leadMs, near } of cuts) {
    const s = leadMs * 24;
    for (const gainDb of [-20, -6, 0]) {
      // echo + player in; the player's share of what comes out against the player alone
      const { out } = cancel(far, { delayMs: 120, rt60: 0.5, gainDb }, make, undefined, near);
      const e = Math.min(out.length, near.length);
      onset = Math.min(onset, db(power(out, s, s + 12_000), power(near, s, s + 12_000)));
      whole = Math.min(whole, db(power(out, s, e), power(near, s, e)));
    }
  }
  return { onsetDb: onset, lineDb: whole };
}

/** Speex settings that could converge faster, one at a time, on the whole matrix, each with its double-talk cost. */
async function levers(far: Float32Array) {
  const figures: Record<string, number> = {};
  const cuts = await playerCuts();
  const settings: [string, EchoCancellerOptions][] = [
    ['default', {}],
    ['block80ms', { blockMs: 80 }],
    ['block20ms', { blockMs: 20 }],
    ['block10ms', { blockMs: 10 }],
    ['tail320ms', { tailMs: 320 }],
    ['speed2', { speed: 2 }],
    ['speed4', { speed: 4 }],
    ['suppress2', { suppressPasses: 2 }],
    ['suppress3', { suppressPasses: 3 }],
    ['block20ms_suppress2', { blockMs: 20, suppressPasses: 2 }],
  ];
  for (const [name, options] of settings) {
    const m = await matrix(far, speexCanceller(options), true);
    const { onsetDb: onset, lineDb: whole } = playerCost(far, speexCanceller(options), cuts);
    say(`lever ${name}: 25 dB within 2 s in ${m.echo_converge_within_2s_count}/27 rooms, median ${m.echo_converge_25db_s_median} s, never ${m.echo_converge_25db_never_count}; from 2 s ≥ 25 dB in ${m.echo_erle_cases_at_25db_count}, from 6 s in ${m.echo_erle_from6s_cases_at_25db_count} (worst ${m.echo_erle_from6s_db_worst.toFixed(1)} dB); clipping ${m.echo_erle_clipping_db.toFixed(1)} dB; player over the NPC: onset ${onset.toFixed(1)} dB, whole line ${whole.toFixed(1)} dB (worst)`);
    const lag = addedLatencyMs(speexCanceller(options));
    say(`  ${name} delays the uplink by ${lag.toFixed(1)} ms`);
    figures[`echo_lever_${name}_added_latency_ms`] = lag;
    figures[`echo_lever_${name}_within_2s_count`] = m.echo_converge_within_2s_count;
    figures[`echo_lever_${name}_converge_s_median`] = m.echo_converge_25db_s_median;
    figures[`echo_lever_${name}_from6s_at_25db_count`] = m.echo_erle_from6s_cases_at_25db_count;
    figures[`echo_lever_${name}_player_onset_db_worst`] = onset;
    figures[`echo_lever_${name}_player_line_db_worst`] = whole;
  }
  return figures;
}

/**
 * How late a canceller's output is against its input: noise bursts into the mic with nothing playing, the lag of
 * the best cross-correlation (speex's residual suppressor delays by one block per pass; AEC3 by its resampling,
 * band split and 4 ms blocks).
 */
export function addedLatencyMs(make: MakeCanceller): number {
  const aec = make();
  const random = seeded(7);
  const n = FRAME_SAMPLES * 40;
  const mic = new Float32Array(n);
  for (let i = FRAME_SAMPLES * 10; i < n; i++) mic[i] = 0.2 * (random() - 0.5);
  const out = new Float32Array(n);
  for (let at = 0; at < n; at += FRAME_SAMPLES) {
    aec.pushReference(new Float32Array(FRAME_SAMPLES));
    out.set(aec.process(mic.slice(at, at + FRAME_SAMPLES)), at);
  }
  aec.dispose();
  let best = -Infinity;
  let lag = 0;
  for (let l = 0; l < 2 * FRAME_SAMPLES; l++) {
    let c = 0;
    for (let i = FRAME_SAMPLES * 20; i < n; i++) c += mic[i - l]! * out[i]!;
    if (c > best) (best = c), (lag = l);
  }
  return (lag / 24_000) * 1000;
}

/** CPU time (user + system of this process, so another process's load does not count) per 80 ms frame. */
export function cost(far: Float32Array) {
  const room = new EchoPath({ delayMs: 120, rt60: 0.4, gainDb: -6 });
  const frames: Float32Array[] = [];
  const refs: Float32Array[] = [];
  for (let at = 0; at + FRAME_SAMPLES <= far.length; at += FRAME_SAMPLES) {
    refs.push(far.slice(at, at + FRAME_SAMPLES));
    frames.push(room.process(refs[refs.length - 1]!));
  }
  const aec = clientCanceller();
  const gate = new PlayerEchoGate();
  /** CPU ms per call of f(k), k from `from` to `to` − 1 */
  const cpuPer = (from: number, to: number, f: (k: number) => void) => {
    const c0 = process.cpuUsage();
    for (let k = from; k < to; k++) f(k);
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1000 / (to - from);
  };
  const time = (f: (k: number) => void) => {
    for (let k = 0; k < 25; k++) f(k);
    return cpuPer(25, frames.length, f);
  };
  const client = time((k) => {
    aec.pushReference(refs[k]!);
    aec.process(frames[k]!.slice());
  });
  // then the NPC falls silent: digital silence from the speakers, a mic with nothing on it, for 15 s (this once
  // sent AEC3 into a path 12× slower: webrtc-aec3.ts, dither)
  const silence = new Float32Array(FRAME_SAMPLES);
  const clientSilent = cpuPer(0, Math.round(15 / 0.08), () => {
    aec.pushReference(silence);
    aec.process(silence.slice());
  });
  const server = time((k) => {
    gate.sent(refs[Math.max(0, k - 5)]!);
    gate.filter(frames[k]!);
  });
  aec.dispose();
  gate.dispose();
  const lag = addedLatencyMs(clientCanceller);
  const gateLag = addedLatencyMs(speexCanceller());
  say(`CPU per 80 ms frame: client canceller (AEC3) ${client.toFixed(2)} ms while the NPC talks, ${clientSilent.toFixed(2)} ms in the digital silence after, server gate (speex) ${server.toFixed(2)} ms (per player hearing an NPC); output late by ${lag.toFixed(1)} ms (client), ${gateLag.toFixed(1)} ms (gate)`);
  return { echo_capture_aec_ms_per_frame: client, echo_capture_aec_silent_ms_per_frame: clientSilent, echo_server_gate_ms_per_player_frame: server, echo_aec_added_latency_ms: lag, echo_gate_added_latency_ms: gateLag };
}

async function worklet(far: Float32Array) {
  const { runCaptureWorklet } = await import('../tests/echo/support/worklet-run.ts');
  const run = await runCaptureWorklet({ far, path: { delayMs: 120, rt60: 0.4, gainDb: -6 }, aec: true });
  const stats = run.stats.filter((s) => s?.power);
  const r = erleOfFrames(stats.map((s) => s!.power!));
  const costs = stats.map((s) => s!.costMs);
  say(`capture worklet under node-web-audio-api (120 ms, RT60 0.4 s, −6 dB): ERLE from 2 s ${r.steadyDb.toFixed(1)} dB, 25 dB from ${r.convergedS} s; windows ${r.windows.map((w) => w.db.toFixed(0)).join(' ')}`);
  return {
    echo_worklet_erle_db: r.steadyDb,
    echo_worklet_converge_25db_s: r.convergedS,
    echo_worklet_aec_ms_per_frame_p50: percentile(costs, 50),
    echo_worklet_aec_ms_per_frame_p95: percentile(costs, 95),
    // the frames while the relearning AEC3 is at work (about the first 1.7 s of NPC speech) cost the most
    echo_worklet_aec_ms_per_frame_max: Math.max(...costs),
  };
}

async function chromium() {
  if (!hasChromium) {
    say('Chromium echo run skipped: /usr/bin/chromium missing');
    return {};
  }
  const { browserEcho } = await import('../tests/echo/support/browser-echo.ts');
  const r = await browserEcho({ delayMs: 120, rt60: 0.4, gainDb: -6 });
  say(`headless Chromium, the page's own output through the room (120 ms, RT60 0.4 s, −6 dB): ERLE ${r.erleDb.toFixed(1)} dB from 2 s after the NPC became audible, 25 dB from ${r.convergedS} s; player over the NPC ${r.doubleTalkDbfs.toFixed(1)} dBFS vs residual echo ${r.echoOnlyDbfs.toFixed(1)} dBFS`);
  return {
    echo_chromium_erle_db: r.erleDb,
    echo_chromium_converge_25db_s: r.convergedS ?? NaN,
    echo_chromium_doubletalk_minus_residual_db: r.doubleTalkDbfs - r.echoOnlyDbfs,
  };
}

async function loops() {
  const loud: EchoPathSpec = { delayMs: 150, rt60: 0.5, gainDb: 0 };
  /** each case on a fresh engine: its figures then depend on its own settings only (the loops are repeatable) */
  const fresh = async <T>(run: (engine: RehearsalEngine) => Promise<T>): Promise<T> => {
    const engine = await loopEngine();
    try {
      return await run(engine);
    } finally {
      await engine.dispose();
    }
  };
  const figures: Record<string, number> = {};
  const cases = [
    { name: 'before', clientAec: false, serverGate: false },
    { name: 'after', clientAec: true, serverGate: true },
    // the defaults: the plugin cancels and says so, so the server's automatic gate leaves it alone; a client that
    // does not cancel gets the gate alone
    { name: 'client_only', clientAec: true, serverGate: false },
    { name: 'gate_only', clientAec: false, serverGate: true },
  ];
  for (const c of cases) {
    const r = await fresh((engine) => selfTalk(engine, SELF_TALK_S, { path: loud, clientAec: c.clientAec, serverGate: c.serverGate, aec: CLIENT_OPTIONS }));
    say(`self-talk ${c.name} (${r.npcSpeechS.toFixed(0)} s of NPC speech, room 150 ms / RT60 0.5 s / 0 dB): ${r.falseBargeIns} false barge-ins, ${r.falsePauses} false pauses (it carried on), ${r.selfAnswers} self-answers, own voice in its mix ${r.heardDbfs.toFixed(1)} dBFS (95th percentile of frames ${r.heardP95Dbfs.toFixed(1)} dBFS)`);
    figures[`echo_selftalk_${c.name}_npc_speech_s`] = r.npcSpeechS;
    figures[`echo_selftalk_${c.name}_false_bargeins_count`] = r.falseBargeIns;
    figures[`echo_selftalk_${c.name}_self_answers_count`] = r.selfAnswers;
    figures[`echo_selftalk_${c.name}_false_pauses_count`] = r.falsePauses;
    figures[`echo_selftalk_${c.name}_heard_dbfs`] = r.heardDbfs;
    figures[`echo_selftalk_${c.name}_heard_p95_dbfs`] = r.heardP95Dbfs;
  }
  // the two defaults (the plugin's canceller; the server gate alone for a client without one), both lines, and no
  // echo at all
  const talks = [
    ['client_aec', { path: loud, clientAec: true, serverGate: false }],
    ['gate_only', { path: loud, clientAec: false, serverGate: true }],
    ['aec', { path: loud, clientAec: true, serverGate: true }],
    ['headphones', { path: { ...loud, gainDb: -120 }, clientAec: false, serverGate: false }],
  ] as const;
  for (const [name, loop] of talks) {
    const r = await fresh((engine) => doubleTalk(engine, DOUBLE_TALK_TRIALS, { ...loop, aec: CLIENT_OPTIONS }));
    say(`double talk ${name}: stop after ${r.latenciesMs.map((v) => v.toFixed(0)).join(' ')} ms; missed ${r.missed}`);
    figures[`echo_doubletalk_${name}_stop_ms_p50`] = percentile(r.latenciesMs, 50);
    figures[`echo_doubletalk_${name}_stop_ms_p95`] = percentile(r.latenciesMs, 95);
    figures[`echo_doubletalk_${name}_missed_count`] = r.missed;
  }
  return figures;
}

/** Both cancellers on the path matrix and under double talk, in one run. */
async function cancellers(far: Float32Array): Promise<Record<string, number>> {
  const cuts = await playerCuts();
  say('the plugin\'s canceller (AEC3):');
  const client = await matrix(far, clientCanceller);
  say('speexdsp (the server gate\'s canceller):');
  const speex = await matrix(far, speexCanceller(), true);
  const figures: Record<string, number> = { ...client };
  for (const [k, v] of Object.entries(speex)) figures[k.replace(/^echo_/, 'echo_speex_')] = v;
  for (const [name, make] of [['client', clientCanceller], ['speex', speexCanceller()]] as const) {
    const p = playerCost(far, make, cuts);
    say(`${name === 'client' ? 'AEC3' : 'speex'}: player over the NPC through the canceller, worst: first 500 ms ${p.onsetDb.toFixed(1)} dB, whole line ${p.lineDb.toFixed(1)} dB`);
    figures[`echo_player_${name}_onset_db_worst`] = p.onsetDb;
    figures[`echo_player_${name}_line_db_worst`] = p.lineDb;
  }
  say(`summary: 25 dB within 2 s AEC3 ${client.echo_converge_within_2s_count}/27, speex ${speex.echo_converge_within_2s_count}/27; ≥ 25 dB from 6 s AEC3 ${client.echo_erle_from6s_cases_at_25db_count}/27, speex ${speex.echo_erle_from6s_cases_at_25db_count}/27; clipping AEC3 ${client.echo_erle_clipping_db.toFixed(1)} dB, speex ${speex.echo_erle_clipping_db.toFixed(1)} dB`);
  return figures;
}

export default async function echoBench(): Promise<Record<string, number>> {
  const far = await npcSpeech(14);
  if (process.env.PARLEY_ECHO_LEVERS === '1') return levers(far);
  // PARLEY_ECHO_PARTS=loops: only the closed loops with the engine (self-talk, double talk), e.g. after a change to
  // its turn-taking; the canceller's own figures do not depend on it
  if (process.env.PARLEY_ECHO_PARTS === 'loops') return loops();
  // PARLEY_ECHO_PARTS=matrix: only both cancellers on the path matrix and their double-talk cost (about 80 s)
  if (process.env.PARLEY_ECHO_PARTS === 'matrix') return cancellers(far);
  const figures: Record<string, number> = { ...(await cancellers(far)), ...cost(far) };
  Object.assign(figures, await worklet(far.subarray(0, 24_000 * 8)));
  Object.assign(figures, await chromium());
  Object.assign(figures, await loops());
  return figures;
}
