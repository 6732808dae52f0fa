/**
 * The turn bench's Full-Duplex-Bench measures (bench/support/turn-metrics.ts) on hand-made recordings: where the
 * NPC talks, where the player talks over it, and what each talk-over counts as.
 */
import { describe, expect, it } from 'vitest';
import { measure, type Recording } from '../../bench/support/turn-metrics.ts';
import type { Said } from '../../bench/support/turn-scenarios.ts';

const SR = 24_000;
const s = (sec: number) => Math.round(sec * SR);

/** NPC audio at 0.1 (−20 dBFS) over the given spans (seconds), silence elsewhere; ten words per span. */
function recording(npcSpans: [number, number][], said: Said[], seconds = 12): Recording {
  const npc = new Float32Array(s(seconds));
  const pieces: Recording['pieces'] = [];
  for (const [a, b] of npcSpans) {
    for (let i = s(a); i < s(b); i++) npc[i] = 0.1 * Math.sin((2 * Math.PI * 200 * i) / SR);
    for (let w = 0; w < 10; w++) pieces.push({ at: s(a + ((b - a) * w) / 10), piece: '▁word' });
  }
  return { npc, pieces, player: new Float32Array(s(seconds)), said };
}

const listener = (question: [number, number], yeah: [number, number]): Said => ({
  kind: 'listener',
  speaker: 'test',
  set: 'tuning',
  start: s(question[0]),
  end: s(question[1]),
  over: { start: s(yeah[0]), end: s(yeah[1]), text: 'Yeah.' },
});

describe('turn metrics: a listener\'s "yeah" over the NPC', () => {
  it('carrying on is not stopping; falling quiet at the "yeah" is, even in the very frame it starts', () => {
    const yeah: [number, number] = [4, 4.4];
    const carried = measure(recording([[3, 8]], [listener([1, 2.5], yeah)]));
    expect(carried.listener).toEqual([{ stopped: false, silent: false, pauseMs: 0, set: 'tuning' }]);
    const stoppedLater = measure(recording([[3, 4.3]], [listener([1, 2.5], yeah)]));
    expect(stoppedLater.listener).toEqual([{ stopped: true, silent: true, pauseMs: 0, set: 'tuning' }]);
    // engine-only timeline: the NPC's output for the frame the "yeah" starts in is already silent
    const stoppedAtOnset = measure(recording([[3, 3.98]], [listener([1, 2.5], yeah)]));
    expect(stoppedAtOnset.listener).toEqual([{ stopped: true, silent: true, pauseMs: 0, set: 'tuning' }]);
  });

  it('with the speech events known (FDB v1.5 "resume"): pausing for the "yeah" and picking the line up again is carrying on; giving it up is not', () => {
    const yeah: [number, number] = [4, 4.4];
    // quiet from 4.06 (the 20 ms block 4.04 s is half sound) to 4.7 s, then the same line goes on: no interruption reported
    const paused = (yields: number[]) => measure({ ...recording([[3, 4.05], [4.7, 8]], [listener([1, 2.5], yeah)]), yields });
    expect(paused([]).listener).toEqual([{ stopped: false, silent: true, pauseMs: 640, set: 'tuning' }]);
    // the same audio, but the NPC gave its line up at 4.6 s (what came after is a new utterance)
    expect(paused([s(4.6)]).listener).toEqual([{ stopped: true, silent: true, pauseMs: 0, set: 'tuning' }]);
    // an interruption long before or after this "yeah" is another one's
    expect(paused([s(2), s(6)]).listener[0]!.stopped).toBe(false);
    // quiet for good, nothing reported: still a stop
    expect(measure({ ...recording([[3, 4.05]], [listener([1, 2.5], yeah)]), yields: [] }).listener[0]!.stopped).toBe(true);
    // back only 2 s after the "yeah" ended: not carrying on
    expect(measure({ ...recording([[3, 4.05], [6.5, 8]], [listener([1, 2.5], yeah)]), yields: [] }).listener[0]!.stopped).toBe(true);
    // not known (an engine-only run of an engine that reports nothing): the audio rule
    expect(measure(recording([[3, 4.05], [4.7, 8]], [listener([1, 2.5], yeah)])).listener[0]!.stopped).toBe(true);
  });

  it('leaves out a "yeah" said when no answer was playing', () => {
    const f = measure(recording([[3, 3.5]], [listener([1, 2.5], [5, 5.4])]));
    expect(f.listener).toEqual([]);
  });
});

describe('turn metrics: an interruption', () => {
  it('stop latency is from the talk-over onset to the NPC falling quiet, never below 0', () => {
    const interrupt = (npcEnd: number) =>
      measure(recording([[3, npcEnd], [7, 9]], [{ ...listener([1, 2.5], [4, 5]), kind: 'interrupt' }])).interrupt[0]!;
    expect(interrupt(4.2).stopMs).toBeCloseTo(200, -1);
    expect(interrupt(3.98).stopMs).toBe(0);
    expect(interrupt(4.2).answered).toBe(true);
  });
});

describe('turn metrics: a mid-sentence pause', () => {
  // The player says 0–2 s, pauses 2–3.5 s, goes on 3.5–5 s.
  const pause = (): Said => ({ kind: 'pause', speaker: 'test', set: 'tuning', start: s(0), end: s(5), pause: { start: s(2), end: s(3.5) } });
  const words = (spans: [number, number][], perSpan: number) => {
    const r = recording(spans, [pause()]);
    r.pieces = spans.flatMap(([a, b]) => Array.from({ length: perSpan }, (_, w) => ({ at: s(a + ((b - a) * w) / perSpan), piece: '▁word' })));
    return measure(r).pause[0]!;
  };

  it('an NPC turn started in the pause is a takeover (FDB: at least 1 s or more than three words) and a voice in it', () => {
    expect(words([[2.8, 4.2]], 4)).toEqual({ pauseMs: 1500, took: true, spoke: true, set: 'tuning' });
  });

  it('a false start the player cut short is no takeover by FDB\'s rule, but still the NPC\'s voice in the pause', () => {
    expect(words([[2.9, 3.7]], 2)).toEqual({ pauseMs: 1500, took: false, spoke: true, set: 'tuning' });
  });

  it('an NPC quiet through the pause, and one that starts only after the player went on, did not speak into it', () => {
    expect(words([], 0)).toEqual({ pauseMs: 1500, took: false, spoke: false, set: 'tuning' });
    expect(words([[3.8, 4.3]], 1)).toEqual({ pauseMs: 1500, took: false, spoke: false, set: 'tuning' });
  });
});
