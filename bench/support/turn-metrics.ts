/**
 * Full-Duplex-Bench v1 measures (DanielLin94144/Full-Duplex-Bench, v1_v1.5/evaluation/eval_*.py) on one
 * recorded conversation: the player's track, the NPC's audio as the player heard it, and the NPC's own text
 * pieces for word timing (FDB transcribes the output with an aligner; the engines give the words directly).
 *
 * FDB's "take turn" rule, used throughout: an NPC stretch of speech is a turn if it lasts ≥ 1 s or has > 3
 * words; shorter ones are backchannels. Latency is from the end of the player's turn to the NPC's first word,
 * reported both as measured (negative: it started before the player finished) and clamped at 0 as FDB does.
 */
import { rms } from '../../protocol/dsp/level.ts';
import type { Said } from './turn-scenarios.ts';

const SR = 24_000;
const BLOCK = 480; // 20 ms

export interface Recording {
  /** NPC audio on the player's timeline */
  npc: Float32Array;
  /** text pieces at the sample where the player heard them start */
  pieces: { at: number; piece: string }[];
  /** the player's own track (what it said) */
  player: Float32Array;
  said: Said[];
  /**
   * Where the NPC gave up the utterance it was speaking: its `interrupted` events (samples, on the player's
   * timeline), as the server's speech tracker passes them on (reported by the engine, or inferred from it falling
   * quiet while hearing a player). Absent: not known, and a listener's "yeah" is judged on the audio alone.
   */
  yields?: number[];
}

export interface Segment {
  start: number;
  end: number;
  words: number;
  firstWord: number;
  turn: boolean;
}

/** NPC stretches of speech: 20 ms blocks above -40 dBFS, gaps under 400 ms bridged (a comma is not a new turn). */
export function npcSegments(r: Recording): Segment[] {
  const active = activeBlocks(r.npc, 0.01);
  const raw: { start: number; end: number }[] = [];
  for (let b = 0; b < active.length; b++) {
    if (!active[b]) continue;
    const last = raw.at(-1);
    if (last && b * BLOCK - last.end <= 0.4 * SR) last.end = (b + 1) * BLOCK;
    else raw.push({ start: b * BLOCK, end: (b + 1) * BLOCK });
  }
  return raw
    .filter((s) => s.end - s.start >= 0.06 * SR)
    .map((s) => {
      const words = r.pieces.filter((p) => p.at >= s.start - 0.1 * SR && p.at < s.end && p.piece.startsWith('▁'));
      const n = words.length;
      return { ...s, words: n, firstWord: words[0]?.at ?? s.start, turn: s.end - s.start >= SR || n > 3 };
    });
}

/**
 * The NPC stretch playing when the player started talking over it. One that ended up to a frame and a block
 * before counts: engine-only, the NPC's output frame k is made from input frame k and laid on the same 80 ms, so
 * an NPC that falls quiet in the frame the player's voice starts in ends before the onset. Counting those as "not
 * playing" scored such stops as carrying on (engine-only listener figures before stop 27).
 */
function playingAt(segs: Segment[], onset: number): Segment | undefined {
  return segs.find((g) => g.start <= onset && g.end > onset - (0.08 + 0.02) * SR);
}

/** Player activity, same rule as the NPC's (its own track, so no detector error). */
function activeBlocks(x: Float32Array, threshold: number): boolean[] {
  const out: boolean[] = [];
  for (let b = 0; b * BLOCK < x.length; b++) out.push(rms(x.subarray(b * BLOCK, (b + 1) * BLOCK)) > threshold);
  return out;
}

export interface TurnFigures {
  /** per scenario outcome lists, for pooling across recordings */
  /**
   * took: FDB's takeover (an NPC turn: ≥ 1 s or > 3 words). spoke: any NPC voice starting in the pause, a turn or
   * not: a false start the player's resuming cut short (under 1 s, three words or fewer) is no takeover by FDB's
   * rule, but the player heard the NPC start into their pause and talk over them as they went on.
   */
  pause: { pauseMs: number; took: boolean; spoke: boolean; set: string }[];
  smooth: { took: boolean; latencyMs: number | null; set: string }[];
  interrupt: { stopMs: number | null; answered: boolean; answerMs: number | null; set: string }[];
  /**
   * stopped: FDB v1.5's content relation is not "resume": the NPC gave up the line it was speaking (or went
   * quiet for good). silent: the old audio rule, stricter: its speech stopped within 1 s of the "yeah", even if
   * the same line then went on. pauseMs: how long it was quiet for the "yeah" when it carried on (0: no gap).
   */
  listener: { stopped: boolean; silent: boolean; pauseMs: number; set: string }[];
  long: { took: boolean; backchannels: number; inPause: number; set: string }[];
  answers: { overlapped: boolean; set: string }[];
}

export function emptyFigures(): TurnFigures {
  return { pause: [], smooth: [], interrupt: [], listener: [], long: [], answers: [] };
}

const toMs = (samples: number) => (samples / SR) * 1000;

export function measure(r: Recording, into: TurnFigures = emptyFigures()): TurnFigures {
  const segs = npcSegments(r);
  const playerActive = activeBlocks(r.player, 0.005);
  const playerTalks = (from: number, to: number) => {
    let n = 0;
    for (let b = Math.floor(from / BLOCK); b < Math.ceil(to / BLOCK) && b < playerActive.length; b++) if (playerActive[b]) n++;
    return n * BLOCK;
  };
  const turnsIn = (from: number, to: number) => segs.filter((s) => s.turn && s.start >= from && s.start < to);
  /** talk-over windows: overlap there is the player's doing */
  const overWindows = r.said.flatMap((s) => (s.over ? [s.over] : []));

  for (const s of r.said) {
    if (s.start < 0) continue;
    const next = r.said[r.said.indexOf(s) + 1];
    const horizon = Math.min(s.end + 5 * SR, next && next.start >= 0 ? next.start : Infinity);
    if (s.kind === 'pause' && s.pause) {
      // FDB pause handling: any NPC turn during the pause (or before the player has finished) is a takeover.
      const took = turnsIn(s.pause.start, s.end).length > 0;
      const spoke = segs.some((g) => g.start >= s.pause!.start && g.start < s.pause!.end);
      into.pause.push({ pauseMs: Math.round(toMs(s.pause.end - s.pause.start)), took, spoke, set: s.set });
    }
    if (s.kind === 'smooth' || s.kind === 'interrupt' || s.kind === 'listener') {
      // FDB smooth turn-taking: did the NPC take the turn after the player's question, and how soon.
      const t = turnsIn(s.start, horizon)[0];
      into.smooth.push({ took: !!t, latencyMs: t ? toMs(t.firstWord - s.end) : null, set: s.set });
    }
    if (s.kind === 'interrupt' && s.over) {
      const o = s.over;
      const cut = playingAt(segs, o.start);
      const stopMs = cut ? Math.max(0, toMs(cut.end - o.start)) : null;
      const after = turnsIn(o.end - 0.2 * SR, o.end + 5 * SR).find((g) => g !== cut);
      into.interrupt.push({ stopMs, answered: !!after, answerMs: after ? toMs(after.firstWord - o.end) : null, set: s.set });
    }
    if (s.kind === 'listener' && s.over) {
      const o = s.over;
      const playing = playingAt(segs, o.start);
      // A "yeah" into silence (no answer was playing) tests nothing and is left out.
      if (playing) {
        // Silent: the answer it was giving ended within 1 s of the "yeah" (its lines run several seconds more).
        const silent = playing.end < o.start + SR;
        // Carried on (FDB v1.5 "resume"): it did not give the line up, and is speaking within 1.5 s of the "yeah"'s
        // end, whether it never stopped or paused and picked the line up again.
        const gaveUp = r.yields?.some((y) => y >= o.start - 0.1 * SR && y <= o.end + SR) ?? false;
        const next = silent ? segs.find((g) => g.start >= playing.end && g.start <= o.end + 1.5 * SR) : playing;
        const carried = !gaveUp && next !== undefined && (r.yields !== undefined || !silent);
        const pauseMs = carried && silent && next ? Math.round(toMs(next.start - playing.end)) : 0;
        into.listener.push({ stopped: !carried, silent, pauseMs, set: s.set });
      }
    }
    if (s.kind === 'long') {
      const took = turnsIn(s.start, s.end).length > 0;
      const bcs = segs.filter((g) => !g.turn && g.start > s.start && g.start < s.end);
      const inPause = bcs.filter((g) => (s.gaps ?? []).some((p) => g.start >= p.start && g.start < p.end)).length;
      into.long.push({ took, backchannels: bcs.length, inPause, set: s.set });
    }
  }
  // Answers that overlap the player: NPC turns with ≥ 100 ms of player speech inside, outside talk-over windows.
  const greeting = segs.find((g) => g.turn);
  for (const g of segs) {
    if (!g.turn || g === greeting) continue;
    if (overWindows.some((o) => o.start < g.end && o.end > g.start)) continue;
    into.answers.push({ overlapped: playerTalks(g.start, g.end) >= 0.1 * SR, set: r.said[0]?.set ?? '' });
  }
  return into;
}

export function merge(a: TurnFigures, b: TurnFigures): TurnFigures {
  return {
    pause: [...a.pause, ...b.pause],
    smooth: [...a.smooth, ...b.smooth],
    interrupt: [...a.interrupt, ...b.interrupt],
    listener: [...a.listener, ...b.listener],
    long: [...a.long, ...b.long],
    answers: [...a.answers, ...b.answers],
  };
}

export function median(xs: number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const rate = (xs: boolean[]) => (xs.length ? xs.filter(Boolean).length / xs.length : NaN);
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/** The summary figures, for one set ('tuning', 'heldOut') or all. */
export function summarise(f: TurnFigures, set?: string) {
  const pick = <T extends { set: string }>(xs: T[]) => (set ? xs.filter((x) => x.set === set) : xs);
  const pause = pick(f.pause);
  const smooth = pick(f.smooth);
  const lat = smooth.filter((s) => s.took).map((s) => s.latencyMs!);
  const inter = pick(f.interrupt);
  const stops = inter.filter((i) => i.stopMs !== null).map((i) => i.stopMs!);
  const long = pick(f.long);
  const bcs = long.reduce((a, l) => a + l.backchannels, 0);
  return {
    pauseTakeover: rate(pause.filter((p) => p.pauseMs >= 900).map((p) => p.took)),
    pauseTakeoverAll: rate(pause.map((p) => p.took)),
    pauseTakeoverShort: rate(pause.filter((p) => p.pauseMs < 900).map((p) => p.took)),
    pauseSpoken: rate(pause.filter((p) => p.pauseMs >= 900).map((p) => p.spoke)),
    pauseSpokenAll: rate(pause.map((p) => p.spoke)),
    pauseSpokenShort: rate(pause.filter((p) => p.pauseMs < 900).map((p) => p.spoke)),
    pauseSpokenComma: rate(pause.filter((p) => p.pauseMs < 450).map((p) => p.spoke)),
    pauseCases: pause.length,
    smoothTakeover: rate(smooth.map((s) => s.took)),
    smoothCases: smooth.length,
    latencyMedianMs: median(lat),
    latencyMedianClampedMs: median(lat.map((l) => Math.max(0, l))),
    latencyMeanClampedMs: mean(lat.map((l) => Math.max(0, l))),
    latencyNegativeShare: rate(lat.map((l) => l < 0)),
    interruptStopMedianMs: median(stops),
    interruptStopMaxMs: stops.length ? Math.max(...stops) : NaN,
    interruptAnswered: rate(inter.map((i) => i.answered)),
    interruptCases: inter.length,
    listenerStopRate: rate(pick(f.listener).map((l) => l.stopped)),
    listenerSilentRate: rate(pick(f.listener).map((l) => l.silent)),
    listenerPauseMedianMs: median(pick(f.listener).filter((l) => !l.stopped && l.silent).map((l) => l.pauseMs)),
    listenerCases: pick(f.listener).length,
    longTakeover: rate(long.map((l) => l.took)),
    backchannels: bcs,
    backchannelInPause: bcs ? long.reduce((a, l) => a + l.inPause, 0) / bcs : NaN,
    answerOverlap: rate(pick(f.answers).map((a) => a.overlapped)),
    answers: pick(f.answers).length,
  };
}

export type TurnSummary = ReturnType<typeof summarise>;
