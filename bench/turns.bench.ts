/**
 * Turn-taking measured the way Full-Duplex-Bench v1 measures it (issue 14): pause handling, smooth turn-taking,
 * user interruption, listener backchannels, and the NPC's own backchannels in a long player turn. Player speech
 * comes from espeak-ng, Flite and Festival (bench/support/speakers.ts), split into a tuning set and a held-out set.
 *
 * `npm run bench turns` runs the engine named by PARLEY_ENGINE (default rehearsal) twice:
 *   through the server  players over WebSocket in real time, one room each; figures include the pipeline, and
 *                       each answer is paired with its engine-only twin to show the pipeline's share apart
 *   engine-only         the same scripts stepped straight through the engine, on its own timeline
 * and, for the rehearsal engine, the trade-off curve between pause takeovers and answer latency (engine-only,
 * several end-of-turn settings). PARLEY_TURNS=engine skips the server run, PARLEY_TURNS=curve runs only the
 * curve; PARLEY_TURNS_CURVE=0 skips the curve. PARLEY_TURNS_TAKING (JSON turn-taking options, e.g.
 * '{"hesitateMs":64,"bargeInMs":640}') tunes the rehearsal engine of both runs.
 */
import { loadConfig } from '../server/config.ts';
import { silentLogger } from '../server/log.ts';
import type { DuplexEngine, Persona } from '../server/engines/contract.ts';
import { RehearsalEngine, startRehearsalEngine } from '../server/engines/rehearsal/index.ts';
import type { TurnTakingOptions } from '../server/engines/rehearsal/turn-taking.ts';
import { HELD_OUT_SPEAKERS, TUNING_SPEAKERS } from './support/speakers.ts';
import { emptyFigures, measure, merge, summarise, type Recording, type TurnFigures, type TurnSummary } from './support/turn-metrics.ts';
import { pairAnswers } from './support/turn-pairs.ts';
import { percentile } from './support/percentile.ts';
import { emptyPipelineStats, runEngineOnly, runThroughServer } from './support/turn-runners.ts';
import { scriptFor, type PlayerScript } from './support/turn-scenarios.ts';

const log = (s: string) => process.stderr.write(`  ${s}\n`);

/** An NPC with answers long enough to talk over (3–5 s) and short backchannels. */
export const TURNS_NPC: Persona = {
  id: 'turns',
  name: 'Engineer Sato',
  textPrompt: 'You are the ship engineer.',
  voice: { kind: 'builtin', id: 'NATM1' },
  seed: 3,
  rehearsal: {
    greeting: 'Hello there. I am the engineer on this ship.',
    lines: [
      'The coolant loop is failing, and we have maybe an hour before the core overheats completely.',
      'Check the pressure valves on deck three, then come back and tell me what the gauges say.',
      'Stay calm. We have trained for exactly this kind of day, and the crew knows what to do.',
      'The main relay burned out last night, so every system on this deck runs on backup power now.',
      'I have not slept in two days, because the filters keep clogging faster than I can clean them.',
    ],
    backchannels: ['Mm-hm.', 'I see.', 'Right.'],
    afterInterruption: 'Sorry, go ahead.',
  },
};

async function scripts(): Promise<PlayerScript[]> {
  const out: PlayerScript[] = [];
  let seed = 1;
  for (const s of TUNING_SPEAKERS) out.push(await scriptFor(s, 'tuning', seed++));
  for (const s of HELD_OUT_SPEAKERS) out.push(await scriptFor(s, 'heldOut', seed++));
  return out;
}

async function measured(run: (scripts: PlayerScript[]) => Promise<Recording[]>) {
  return (await measuredEach(run)).reduce(merge, emptyFigures());
}

/** Figures per player (script order), for pairing the server's answers with the engine's. */
async function measuredEach(run: (scripts: PlayerScript[]) => Promise<Recording[]>): Promise<TurnFigures[]> {
  return (await run(await scripts())).map((r) => measure(r));
}

const TARGETS: { name: string; key: keyof TurnSummary; text: string; met: (v: number, s: TurnSummary) => boolean }[] = [
  { name: 'pause takeover (pauses 1.0–1.5 s)', key: 'pauseTakeover', text: '≤ 0.30', met: (v) => v <= 0.3 },
  { name: 'smooth-turn takeover', key: 'smoothTakeover', text: '≥ 0.95', met: (v) => v >= 0.95 },
  { name: 'smooth-turn latency median (ms)', key: 'latencyMedianMs', text: '≤ 600', met: (v) => v <= 600 },
  // FDB v1.5's content relation: a "yeah" the NPC paused for and then carried on through is "resume", the right
  // behaviour; giving the line up (or falling quiet for good) is a stop. The audio-only rule is reported below.
  { name: 'listener backchannels stop it (FDB v1.5)', key: 'listenerStopRate', text: '≤ 0.2', met: (v) => v <= 0.2 },
  { name: 'NPC backchannels inside a pause', key: 'backchannelInPause', text: '≥ 0.80', met: (v) => v >= 0.8 },
  { name: 'answers overlapping the player', key: 'answerOverlap', text: '≤ 0.05', met: (v) => v <= 0.05 },
];

const REPORTED: { name: string; key: keyof TurnSummary }[] = [
  { name: 'pause takeover, all pauses 0.3–1.5 s', key: 'pauseTakeoverAll' },
  { name: 'pause takeover, pauses 0.3–0.6 s', key: 'pauseTakeoverShort' },
  // FDB's takeover needs an NPC turn (≥ 1 s or > 3 words): an NPC that starts into a pause and stops as the player
  // goes on is not one, so a hold shorter than the pauses looks free there. These count any NPC voice started in it.
  { name: 'NPC voice started in a pause (1.0–1.5 s)', key: 'pauseSpoken' },
  { name: 'NPC voice started in a pause, all pauses', key: 'pauseSpokenAll' },
  { name: 'NPC voice started in a pause of 0.3–0.6 s', key: 'pauseSpokenShort' },
  { name: 'NPC voice started in a comma pause (0.3 s)', key: 'pauseSpokenComma' },
  { name: 'smooth latency median clamped at 0 (ms)', key: 'latencyMedianClampedMs' },
  { name: 'smooth latency mean clamped at 0 (FDB, ms)', key: 'latencyMeanClampedMs' },
  { name: 'smooth answers started before the end', key: 'latencyNegativeShare' },
  { name: 'interruption: stop latency median (ms)', key: 'interruptStopMedianMs' },
  { name: 'interruption: stop latency max (ms)', key: 'interruptStopMaxMs' },
  { name: 'interruption: answers after it', key: 'interruptAnswered' },
  { name: 'listener "yeah": NPC quiet within 1 s', key: 'listenerSilentRate' },
  { name: 'listener "yeah": pause before carrying on (ms)', key: 'listenerPauseMedianMs' },
  { name: 'long turn taken over (FDB backchannel TOR)', key: 'longTakeover' },
  { name: 'NPC backchannels in long turns (count)', key: 'backchannels' },
  { name: 'cases: pauses / smooth / interrupt / listener / answers', key: 'pauseCases' },
];

function fmt(v: number): string {
  return Number.isNaN(v) ? '—' : Number.isInteger(v) ? String(v) : Math.abs(v) >= 10 ? v.toFixed(0) : v.toFixed(2);
}

function table(title: string, cols: { label: string; s: TurnSummary }[]) {
  const w = 48;
  const lines = [`\n${title}`, `${'figure'.padEnd(w)}  ${cols.map((c) => c.label.padStart(14)).join('')}  target   met`];
  for (const t of TARGETS) {
    const main = cols[0]!.s[t.key] as number;
    lines.push(`${t.name.padEnd(w)}  ${cols.map((c) => fmt(c.s[t.key] as number).padStart(14)).join('')}  ${t.text.padEnd(7)}  ${Number.isNaN(main) ? 'no data' : t.met(main, cols[0]!.s) ? 'met' : 'NOT MET'}`);
  }
  for (const r of REPORTED) {
    const v = (s: TurnSummary) =>
      r.key === 'pauseCases' ? `${s.pauseCases}/${s.smoothCases}/${s.interruptCases}/${s.listenerCases}/${s.answers}` : fmt(s[r.key] as number);
    lines.push(`${r.name.padEnd(w)}  ${cols.map((c) => ` ${v(c.s)}`.padStart(14)).join('')}`); // the case counts outgrow a column: keep a space between them
  }
  console.log(lines.join('\n'));
}

/** End-of-turn settings for the curve: fixed silences (no prosody) and prosody with several thresholds. */
const CURVE: { label: string; prosody: boolean; turnTaking: TurnTakingOptions }[] = [
  { label: 'fixed 500 ms', prosody: false, turnTaking: { endOfTurnMs: 500 } },
  { label: 'fixed 1000 ms', prosody: false, turnTaking: { endOfTurnMs: 1000 } },
  { label: 'fixed 1600 ms', prosody: false, turnTaking: { endOfTurnMs: 1600 } },
  { label: 'prosody θ 0.45', prosody: true, turnTaking: { turnEndThreshold: 0.45 } },
  { label: 'prosody θ 0.55 (default)', prosody: true, turnTaking: {} },
  { label: 'prosody θ 0.65', prosody: true, turnTaking: { turnEndThreshold: 0.65 } },
  { label: 'prosody θ 0.55, end 320 ms', prosody: true, turnTaking: { endOfTurnMs: 320 } },
  { label: 'prosody θ 0.55, end 400 ms (before stop 32)', prosody: true, turnTaking: { endOfTurnMs: 400 } },
  { label: 'prosody θ 0.55, hold 2000 ms', prosody: true, turnTaking: { holdMs: 2000 } },
];

export default async function turnsBench(): Promise<Record<string, number>> {
  const config = loadConfig();
  const figures: Record<string, number> = {};
  // The rehearsal engine quietly (its per-session log lines would drown the table); any other through select.ts.
  const tuning = process.env.PARLEY_TURNS_TAKING ? (JSON.parse(process.env.PARLEY_TURNS_TAKING) as TurnTakingOptions) : undefined;
  if (tuning) log(`rehearsal turn-taking options (both runs): ${JSON.stringify(tuning)}`);
  const started = async (): Promise<DuplexEngine> => {
    if (config.engine.name === 'rehearsal') return startRehearsalEngine({ engine: { quiet: true, ...(tuning ? { turnTaking: tuning } : {}) } });
    const { startEngine } = await import('../server/engines/select.ts');
    return startEngine(config.engine, silentLogger);
  };

  let server: ReturnType<typeof summarise> | null = null;
  let serverF = emptyFigures();
  /** per player through the server, and which players (indices into tuning then held-out) */
  let serverEach: TurnFigures[] = [];
  let serverPlayers: number[] = [];
  const pipeline = emptyPipelineStats();
  if (process.env.PARLEY_TURNS !== 'engine' && process.env.PARLEY_TURNS !== 'curve') {
    // PARLEY_TURNS_SERVER_PLAYERS=0,5,…: only these players through the server (indices into tuning then held-out).
    const only = process.env.PARLEY_TURNS_SERVER_PLAYERS?.split(',').map(Number);
    const count = only ? only.length : TUNING_SPEAKERS.length + HELD_OUT_SPEAKERS.length;
    log(`through the server: ${config.engine.name}, ${count} players in real time (about ${Math.max(5, Math.ceil(count / 6) * 6)} minutes)`);
    const engine = await started();
    try {
      // Players in groups (PARLEY_TURNS_GROUP, default 6): real time on a shared 2-core machine does not keep up
      // with all eleven at once, and starved ticks would measure the machine, not the turn-taking.
      const group = Number(process.env.PARLEY_TURNS_GROUP ?? 6);
      // Each group gets its own engine: a server's shutdown stops its engine.
      serverEach = await measuredEach(async (everyone) => {
        serverPlayers = everyone.map((_, i) => i).filter((i) => !only || only.includes(i));
        const all = serverPlayers.map((i) => everyone[i]!);
        const recs = [];
        for (let i = 0; i < all.length; i += group) {
          log(`players ${i + 1}–${Math.min(all.length, i + group)} of ${all.length}`);
          const e = i === 0 ? engine : await started();
          recs.push(...(await runThroughServer(e, TURNS_NPC, all.slice(i, i + group), pipeline)));
        }
        return recs;
      });
    } catch (err) {
      await engine.dispose?.().catch(() => undefined); // a server that never started did not stop it
      throw err;
    }
    // (each server's shutdown stopped its engine; disposing one twice crashes onnxruntime)
    serverF = serverEach.reduce(merge, emptyFigures());
    server = summarise(serverF);
    log(`through the server: ${JSON.stringify(server)}`);
  }
  if (process.env.PARLEY_TURNS === 'curve') return curve(config.engine.name);
  log(`engine-only: ${config.engine.name}`);
  // In-thread for the rehearsal engine, so each session starts once its lines are synthesised (ready()).
  const engine: DuplexEngine = config.engine.name === 'rehearsal' ? await RehearsalEngine.create({ quiet: true, ...(tuning ? { turnTaking: tuning } : {}) }) : await started();
  let engineEach: TurnFigures[] = [];
  try {
    engineEach = await measuredEach((s) => runEngineOnly(engine, TURNS_NPC, s));
  } finally {
    await engine.dispose?.();
  }
  const engineF = engineEach.reduce(merge, emptyFigures());
  const cols: { label: string; s: TurnSummary }[] = [];
  if (server) cols.push({ label: 'server', s: server }, { label: 'srv tuning', s: summarise(serverF, 'tuning') }, { label: 'srv held-out', s: summarise(serverF, 'heldOut') });
  cols.push({ label: 'engine-only', s: summarise(engineF) }, { label: 'eng tuning', s: summarise(engineF, 'tuning') }, { label: 'eng held-out', s: summarise(engineF, 'heldOut') });
  table(`Turn-taking, ${config.engine.name} (FDB v1 definitions; first column decides met / not met)`, cols);
  if (server) {
    // The same players' same questions, through the server and engine-only: what the pipeline added to each answer,
    // apart from answers the engine timed differently there (turn-pairs.ts).
    const p = pairAnswers(serverEach, serverPlayers.map((i) => engineEach[i]!));
    console.log(
      `answers paired with engine-only (${p.pairs}; ${p.unpaired} players unpaired): the server's share p50 ${fmt(percentile(p.sharesMs, 50))} / p95 ${fmt(percentile(p.sharesMs, 95))} / max ${fmt(p.sharesMs.at(-1) ?? NaN)} ms; ` +
        `timed a hold later there ${p.laterThere}, a hold sooner ${p.soonerThere}`,
    );
    const perMin = (n: number) => n / Math.max(1e-9, pipeline.playerMinutes);
    console.log(
      `what the real-time path did to the voice the engine heard, per player-minute (${fmt(pipeline.playerMinutes)} min): ` +
        `frames concealed ${fmt(perMin(pipeline.framesConcealed))}, frames trimmed ${fmt(perMin(pipeline.framesTrimmed))}; ticks whose engine step was skipped ${pipeline.ticksLate} in all`,
    );
    figures['turns.server.answerShareP50Ms'] = percentile(p.sharesMs, 50);
    figures['turns.server.answerShareP95Ms'] = percentile(p.sharesMs, 95);
    figures['turns.server.answersTimedLater'] = p.laterThere;
    figures['turns.server.answersTimedSooner'] = p.soonerThere;
    figures['turns.server.framesConcealedPerMin'] = perMin(pipeline.framesConcealed);
    figures['turns.server.framesTrimmedPerMin'] = perMin(pipeline.framesTrimmed);
    figures['turns.server.ticksLate'] = pipeline.ticksLate;
  }

  const main = server ?? summarise(engineF);
  const prefix = server ? 'turns.server' : 'turns.engine';
  for (const t of TARGETS) figures[`${prefix}.${t.key}`] = main[t.key] as number;
  for (const r of REPORTED) figures[`${prefix}.${r.key}`] = main[r.key] as number;
  const eng = summarise(engineF);
  for (const t of TARGETS) figures[`turns.engine.${t.key}`] = eng[t.key] as number;
  figures['turns.engine.heldOut.pauseTakeover'] = summarise(engineF, 'heldOut').pauseTakeover;
  figures['turns.engine.heldOut.latencyMedianMs'] = summarise(engineF, 'heldOut').latencyMedianMs;

  return { ...figures, ...(process.env.PARLEY_TURNS_CURVE !== '0' ? await curve(config.engine.name) : {}) };
}

/** The trade-off curve (rehearsal only, engine-only): several end-of-turn settings. */
async function curve(engineName: string): Promise<Record<string, number>> {
  const figures: Record<string, number> = {};
  if (engineName === 'rehearsal') {
    const rows: string[] = [];
    for (const c of CURVE) {
      log(`curve: ${c.label}`);
      const e = await RehearsalEngine.create({ quiet: true, prosody: c.prosody, turnTaking: c.turnTaking });
      try {
        const f = await measured((s) => runEngineOnly(e, TURNS_NPC, s));
        const all = summarise(f);
        const held = summarise(f, 'heldOut');
        rows.push(
          `${c.label.padEnd(28)} ${fmt(all.pauseTakeover).padStart(8)} ${fmt(all.pauseTakeoverAll).padStart(8)} ${fmt(all.latencyMedianMs).padStart(9)} ${fmt(all.smoothTakeover).padStart(7)} ${fmt(held.pauseTakeover).padStart(9)} ${fmt(held.latencyMedianMs).padStart(9)}`,
        );
        log(rows.at(-1)!);
        const key = c.label.replace(/[^\w.]+/g, "-");
        figures[`turns.curve.${key}.pauseTakeover`] = all.pauseTakeover;
        figures[`turns.curve.${key}.latencyMedianMs`] = all.latencyMedianMs;
      } finally {
        await e.dispose?.();
      }
    }
    console.log(
      `\nTrade-off: pause takeovers vs answer latency (rehearsal, engine-only; the server adds its pipeline share to latency)\n` +
        `${'end-of-turn setting'.padEnd(28)} ${'TO≥1s'.padStart(8)} ${'TO all'.padStart(8)} ${'lat p50'.padStart(9)} ${'smooth'.padStart(7)} ${'held TO'.padStart(9)} ${'held p50'.padStart(9)}\n` +
        rows.join('\n'),
    );
  }
  return figures;
}
