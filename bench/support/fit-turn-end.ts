/**
 * Fits the turn-end weights (server/engines/rehearsal/prosody.ts, TURN_END_WEIGHTS) on the tuning speakers and
 * reports how they do on the held-out ones:  npx tsx bench/support/fit-turn-end.ts
 *
 * Each speaker says the bench's material in order through one ProsodyTracker (as a session would hear it); at
 * every mid-sentence pause and clause break (label 0) and every end of turn (label 1) the cues are taken 250 ms
 * into the silence, as the engine takes them. Logistic regression, L2 0.01, on the tuning set only.
 */
import { ProsodyTracker, TURN_END_WEIGHTS, turnEndProbability, type TurnEndCues, type TurnEndWeights } from '../../server/engines/rehearsal/prosody.ts';
import { HELD_OUT_SPEAKERS, PAUSE, setPause, speak, TUNING_SPEAKERS, type Speaker } from './speakers.ts';
import { MATERIAL } from './turn-scenarios.ts';

type Row = { set: 'tuning' | 'heldOut'; label: 0 | 1; cues: TurnEndCues };

async function rowsFor(s: Speaker, set: 'tuning' | 'heldOut'): Promise<Row[]> {
  const rows: Row[] = [];
  const p = new ProsodyTracker();
  const quiet = (ms: number) => p.push(new Float32Array(Math.round(ms * 24)));
  const take = (label: 0 | 1) => rows.push({ set, label, cues: p.cues() });
  quiet(500);
  for (const [a, b] of MATERIAL.PAUSE_ITEMS[set]) {
    const { samples, pauseStart } = setPause(await speak(s, a + PAUSE + b), 1000);
    p.push(samples.subarray(0, pauseStart));
    quiet(250);
    take(0);
    p.push(samples.subarray(pauseStart + 6000));
    quiet(250);
    take(1);
    quiet(1500);
  }
  for (const t of MATERIAL.TURN_ITEMS[set]) {
    p.push(await speak(s, t));
    quiet(250);
    take(1);
    quiet(1500);
  }
  for (const clauses of MATERIAL.LONG_ITEMS[set]) {
    for (let i = 0; i < clauses.length - 1; i++) {
      const { samples, pauseStart } = setPause(await speak(s, clauses[i] + PAUSE + clauses[i + 1]), 0);
      p.push(samples.subarray(0, pauseStart));
      quiet(250);
      take(0);
      quiet(300);
    }
  }
  return rows;
}

/** The model's inputs, in the order of the weights fitted. */
function features(c: TurnEndCues, w: TurnEndWeights): number[] {
  const v = (x: number, d = 0) => (x === x ? x : d);
  return [
    1,
    Math.max(0, -v(c.finalPitchZ)),
    Math.max(0, v(c.finalPitchZ) - w.riseFrom),
    Math.max(0, -v(c.pitchSlope)),
    Math.max(0, v(c.pitchSlope) - w.riseSlopeFrom),
    Math.min(3, Math.max(0, v(c.lengthening, 1) - 1)),
    Math.max(0, -v(c.energyDrop)),
  ];
}

function fit(rows: Row[]): TurnEndWeights {
  const X = rows.map((r) => features(r.cues, TURN_END_WEIGHTS));
  const y = rows.map((r) => r.label);
  // Scale columns to unit mean magnitude for the descent, then scale the weights back.
  const scale = X[0]!.map((_, j) => (j === 0 ? 1 : Math.max(1e-6, X.reduce((a, x) => a + Math.abs(x[j]!), 0) / X.length)));
  const Z = X.map((x) => x.map((v, j) => v / scale[j]!));
  const w = new Array(Z[0]!.length).fill(0);
  for (let it = 0; it < 20_000; it++) {
    const g = new Array(w.length).fill(0);
    Z.forEach((z, i) => {
      const p = 1 / (1 + Math.exp(-z.reduce((a, v, j) => a + v * w[j]!, 0)));
      z.forEach((v, j) => (g[j] += ((p - y[i]!) * v) / Z.length));
    });
    w.forEach((_, j) => (w[j] -= 0.5 * (g[j]! + (j ? 0.01 * w[j]! : 0))));
  }
  const k = w.map((v, j) => v / scale[j]!);
  return { ...TURN_END_WEIGHTS, bias: k[0]!, lowering: k[1]!, rise: k[2]!, fall: k[3]!, riseSlope: k[4]!, lengthening: k[5]!, energy: k[6]! };
}

function report(rows: Row[], w: TurnEndWeights, label: string) {
  for (const set of ['tuning', 'heldOut'] as const) {
    const r = rows.filter((x) => x.set === set);
    const line = [0.4, 0.5, 0.55, 0.6, 0.7].map((th) => {
      const ends = r.filter((x) => x.label === 1);
      const pauses = r.filter((x) => x.label === 0);
      const hit = ends.filter((x) => turnEndProbability(x.cues, w) >= th).length / ends.length;
      const fa = pauses.filter((x) => turnEndProbability(x.cues, w) >= th).length / pauses.length;
      return `θ ${th}: ends ${hit.toFixed(2)} pauses ${fa.toFixed(2)}`;
    });
    console.log(`${label} ${set.padEnd(8)} ${line.join(' | ')}`);
  }
}

const rows: Row[] = [];
for (const s of TUNING_SPEAKERS) rows.push(...(await rowsFor(s, 'tuning')));
for (const s of HELD_OUT_SPEAKERS) rows.push(...(await rowsFor(s, 'heldOut')));
const fitted = fit(rows.filter((r) => r.set === 'tuning'));
console.log('fitted on the tuning set:', JSON.stringify(fitted, (_, v) => (typeof v === 'number' ? Number(v.toFixed(4)) : v)));
report(rows, TURN_END_WEIGHTS, 'current');
report(rows, fitted, 'fitted ');
