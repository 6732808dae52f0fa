/**
 * The server's part in each answer, paired: the same player's same question answered through the server and by the
 * engine alone (turn-runners.ts), so what the pipeline adds is told apart from what the engine decided.
 *
 * The smooth-turn median sits where the answers to speech that sounded finished (about 0.35 s engine-only) meet
 * the ones that waited out the hold for speech that sounded unfinished (about 1.6 s). Through the server it moves
 * with two things: the pipeline's share of each answer (capture framing, tick, playout), and answers the engine
 * timed differently there (a VAD window or a prosody cue either side of its threshold), which move an answer from
 * one group to the other. These figures show each.
 */
import type { TurnFigures } from './turn-metrics.ts';

/** Apart by more than this, the two runs decided differently (end of turn against hold), not just delivered later. */
const DECIDED_APART_MS = 700;

export interface AnswerPairs {
  /** server minus engine-only latency of each answer both runs gave at the same decision (ms, sorted) */
  sharesMs: number[];
  /** answers the server gave a hold later (or sooner) than the engine alone: the same speech judged differently */
  laterThere: number;
  soonerThere: number;
  /** answers compared (both runs answered the same question) */
  pairs: number;
  /** players whose two runs did not ask the same questions (their reactive scripts went differently): not paired */
  unpaired: number;
}

/** `server[i]` and `engine[i]` are the same player's figures (one recording each, from `measure`). */
export function pairAnswers(server: TurnFigures[], engine: TurnFigures[]): AnswerPairs {
  if (server.length !== engine.length) throw new Error(`turn pairs: ${server.length} server players, ${engine.length} engine-only`);
  const out: AnswerPairs = { sharesMs: [], laterThere: 0, soonerThere: 0, pairs: 0, unpaired: 0 };
  server.forEach((s, i) => {
    const e = engine[i]!;
    if (s.smooth.length !== e.smooth.length) {
      out.unpaired++;
      return;
    }
    s.smooth.forEach((a, k) => {
      const b = e.smooth[k]!;
      if (a.latencyMs === null || b.latencyMs === null) return;
      out.pairs++;
      const d = a.latencyMs - b.latencyMs;
      if (d > DECIDED_APART_MS) out.laterThere++;
      else if (d < -DECIDED_APART_MS) out.soonerThere++;
      else out.sharesMs.push(d);
    });
  });
  out.sharesMs.sort((x, y) => x - y);
  return out;
}
