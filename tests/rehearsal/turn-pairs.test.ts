/**
 * Pairing the turn bench's answers through the server with the engine-only ones (bench/support/turn-pairs.ts):
 * the pipeline's share of an answer both runs timed alike, and the answers one of them timed a hold apart.
 */
import { describe, expect, it } from 'vitest';
import { emptyFigures, type TurnFigures } from '../../bench/support/turn-metrics.ts';
import { pairAnswers } from '../../bench/support/turn-pairs.ts';
import { percentile } from '../../bench/support/percentile.ts';

const player = (latencies: (number | null)[]): TurnFigures => ({
  ...emptyFigures(),
  smooth: latencies.map((l) => ({ took: l !== null, latencyMs: l, set: 'tuning' })),
});

describe('turn pairs', () => {
  it('takes what the server added to answers decided alike, and counts the ones decided a hold apart', () => {
    const server = [player([450, 1720, 1690, null, 470]), player([500, 520])];
    const engine = [player([340, 1600, 360, 350, 1660]), player([380])];
    const p = pairAnswers(server, engine);
    // 450−340, 1720−1600 paired; 1690 vs 360 a hold later; 470 vs 1660 a hold sooner; the unanswered one left out
    expect(p.sharesMs).toEqual([110, 120]);
    expect(p.laterThere).toBe(1);
    expect(p.soonerThere).toBe(1);
    expect(p.pairs).toBe(4);
    // the second player's runs asked different numbers of questions: not paired
    expect(p.unpaired).toBe(1);
  });

  it('refuses players that do not line up, and reads percentiles by nearest rank (bench/support/percentile.ts)', () => {
    expect(() => pairAnswers([player([1])], [])).toThrow(/1 server players, 0 engine-only/);
    expect(percentile([10, 20, 30, 40], 50)).toBe(20);
    expect(percentile([10, 20, 30, 40], 95)).toBe(40);
    expect(Number.isNaN(percentile([], 50))).toBe(true);
  });
});
