// The heard-words record (server/scenes/heard-record.ts): per NPC utterance and per listener, the words the
// listener's playback reached, cut at the interruption, and exactly one finished record each, under interruption,
// lost / late / repeated playback reports, joining and leaving. Time is a fake clock.
import { describe, expect, it } from 'vitest';
import type { NpcEvent } from '../../protocol/messages.ts';
import { HeardRecord, type Heard } from '../../server/scenes/heard-record.ts';

/** Alex says `line`, one word per frame from frame `from`, to listeners `to`; events as a tracker would send. */
function setup(graceMs = 3000) {
  let now = 0;
  const got: Heard[] = [];
  const rec = new HeardRecord((h) => got.push(h), { graceMs, now: () => now });
  const speak = (words: string[], from: number, to: string[], opts: { cutAt?: number } = {}) => {
    const last = opts.cutAt ?? from + words.length;
    for (let i = from; i <= last + 5; i++) {
      const events: NpcEvent[] = [];
      if (i === from) events.push({ e: 'speech-started', i });
      if (opts.cutAt === i) events.push({ e: 'interrupted', i });
      // the tracker ends speech after 5 quiet frames, dated back to the first quiet frame
      if (i === last + 4) events.push({ e: 'speech-ended', i: opts.cutAt ?? last });
      const k = i - from;
      const piece = i < last && k < words.length ? `▁${words[k]}` : undefined;
      rec.frame('alex', i, piece, events, i < last ? to : []);
      now += 80;
    }
  };
  return { rec, got, speak, advance: (ms: number) => (now += ms) };
}

const LINE = ['Loop', 'B', 'lost', 'pressure,', 'the', 'coolant', 'is', 'leaking.'];

describe('heard record', () => {
  it('one record per listener once its playback passes the last frame, with every word', () => {
    const { rec, got, speak } = setup();
    rec.played('p1', 'alex', -1); // clocked from the start
    speak(LINE, 10, ['p1']);
    expect(got).toEqual([]); // sent, not yet played
    rec.played('p1', 'alex', 16);
    expect(got).toEqual([]); // the last word is in frame 17
    rec.played('p1', 'alex', 17);
    expect(got).toEqual([{ npc: 'alex', player: 'p1', words: LINE, interrupted: false, reached: 'playback', from: 10, to: 18 }]);
    rec.played('p1', 'alex', 40);
    expect(got).toHaveLength(1); // exactly once
  });

  it('interrupted: the words after the cut never count, and it finishes when playback reaches the cut', () => {
    const { rec, got, speak } = setup();
    rec.played('p1', 'alex', -1);
    speak(LINE, 10, ['p1'], { cutAt: 14 });
    rec.played('p1', 'alex', 13);
    expect(got).toEqual([{ npc: 'alex', player: 'p1', words: ['Loop', 'B', 'lost', 'pressure,'], interrupted: true, reached: 'playback', from: 10, to: 14 }]);
  });

  it("cut where this listener's playback stopped: frames flushed after an interruption were never heard", () => {
    const { rec, got, speak, advance } = setup(2000);
    rec.played('p1', 'alex', -1);
    rec.played('p2', 'alex', -1);
    speak(LINE, 10, ['p1', 'p2'], { cutAt: 16 });
    rec.played('p1', 'alex', 15); // close by: played up to the cut
    rec.played('p2', 'alex', 12); // far behind (a deeper buffer), then flushed by the interruption
    expect(got.map((h) => h.player)).toEqual(['p1']);
    advance(2000);
    rec.tick();
    expect(got[1]).toEqual({ npc: 'alex', player: 'p2', words: ['Loop', 'B', 'lost'], interrupted: true, reached: 'partial', from: 10, to: 16 });
    rec.tick();
    expect(got).toHaveLength(2);
    expect(rec.pendingCount).toBe(0);
  });

  it('lost, late and repeated playback reports: only the highest counts', () => {
    const { rec, got, speak } = setup();
    rec.played('p1', 'alex', -1);
    speak(LINE, 10, ['p1']);
    for (const i of [11, 14, 12, 14, 13]) rec.played('p1', 'alex', i); // 15, 16 lost; 12, 13 arrive late
    expect(got).toEqual([]);
    rec.played('p1', 'alex', 20); // one later report covers the lost ones
    expect(got).toHaveLength(1);
    expect(got[0]!.words).toEqual(LINE);
    expect(got[0]!.reached).toBe('playback');
  });

  it('every report lost from some point: finishes after the grace period with what was reached', () => {
    const { rec, got, speak, advance } = setup(3000);
    rec.played('p1', 'alex', -1);
    speak(LINE, 10, ['p1']);
    rec.played('p1', 'alex', 12);
    advance(2800); // the line ended 160 ms before the helper returned: 2960 ms ago now
    rec.tick();
    expect(got).toEqual([]);
    advance(100); // 3060 ms
    rec.tick();
    expect(got).toEqual([{ npc: 'alex', player: 'p1', words: ['Loop', 'B', 'lost'], interrupted: false, reached: 'partial', from: 10, to: 18 }]);
  });

  it('a player who arrives mid-line heard from its first frame; one who leaves gets what it reached', () => {
    const { rec, got } = setup();
    rec.played('late', 'alex', -1);
    rec.played('leaver', 'alex', -1);
    // 'late' is in earshot from frame 14 only
    const words = LINE;
    for (let i = 10; i <= 23; i++) {
      const events: NpcEvent[] = i === 10 ? [{ e: 'speech-started', i }] : i === 22 ? [{ e: 'speech-ended', i: 18 }] : [];
      rec.frame('alex', i, i < 18 ? `▁${words[i - 10]}` : undefined, events, i < 18 ? (i >= 14 ? ['late', 'leaver'] : ['leaver']) : []);
    }
    rec.played('leaver', 'alex', 11);
    rec.leave('leaver');
    rec.played('late', 'alex', 17);
    expect(got).toEqual([
      { npc: 'alex', player: 'leaver', words: ['Loop', 'B'], interrupted: false, reached: 'partial', from: 10, to: 18 },
      { npc: 'alex', player: 'late', words: ['the', 'coolant', 'is', 'leaking.'], interrupted: false, reached: 'playback', from: 10, to: 18 },
    ]);
  });

  it('a player that never reports playback gets the words as sent, when the line ends', () => {
    const { rec, got, speak } = setup();
    speak(LINE, 10, ['old-client']);
    expect(got).toEqual([{ npc: 'alex', player: 'old-client', words: LINE, interrupted: false, reached: 'sent', from: 10, to: 18 }]);
  });

  it('continuation pieces join their word; a session that closes mid-line still ends its record', () => {
    const { rec, got, advance } = setup(1000);
    rec.played('p1', 'alex', -1);
    const pieces = ['▁Re', 'actor', ',', '▁hot'];
    pieces.forEach((piece, k) => rec.frame('alex', 5 + k, piece, k === 0 ? [{ e: 'speech-started', i: 5 }] : [], ['p1']));
    rec.played('p1', 'alex', 8);
    expect(got).toEqual([]); // no end yet
    advance(1000);
    rec.tick(); // no frames for a second: the stream went away; ends after its last word
    rec.played('p1', 'alex', 9);
    expect(got).toEqual([{ npc: 'alex', player: 'p1', words: ['Reactor,', 'hot'], interrupted: false, reached: 'playback', from: 5, to: 9 }]);
  });
});

describe('heard record with a text lead', () => {
  it('a word counts once its audio frame (piece frame + lead) has played, and a piece sent just before the cut does not', () => {
    let now = 0;
    const got: Heard[] = [];
    const rec = new HeardRecord((h) => got.push(h), { leadFrames: 2, now: () => now });
    rec.played('p1', 'alex', -1);
    // pieces at 10, 12, 14; audio at 12, 14, 16; cut at 15: the third word's audio never played
    const pieces: Record<number, string> = { 10: '▁Loop', 12: '▁B', 14: '▁lost' };
    for (let i = 10; i <= 15; i++) {
      const events: NpcEvent[] = i === 10 ? [{ e: 'speech-started', i }] : i === 15 ? [{ e: 'interrupted', i }] : [];
      rec.frame('alex', i, pieces[i], events, ['p1']);
      now += 80;
    }
    rec.played('p1', 'alex', 14);
    expect(got).toEqual([{ npc: 'alex', player: 'p1', words: ['Loop', 'B'], interrupted: true, reached: 'playback', from: 10, to: 15 }]);
  });
});
