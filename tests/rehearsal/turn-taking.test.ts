import { describe, expect, it } from 'vitest';
import { TurnTaking, type Hearing } from '../../server/engines/rehearsal/turn-taking.ts';
import { run, talk } from './turn-script.ts';


/** Hearing for `ms` of silence after `already` ms of it, or of speech. */
const quiet = (frames: number, from = 0): Hearing[] => Array.from({ length: frames }, (_, i) => ({ speechMs: 0, silenceMs: from + (i + 1) * 80 }));

describe('TurnTaking', () => {
  it('greets once after a quiet start, then waits for the player', () => {
    const log = run(new TurnTaking({ greetAfterMs: 480 }), quiet(100));
    expect(log).toEqual([{ frame: 5, d: { say: 'greeting' } }]);
  });

  it('answers after endOfTurnMs of quiet following player speech', () => {
    const log = run(new TurnTaking({ endOfTurnMs: 500 }), [...quiet(20), ...talk(20), ...quiet(20)]);
    expect(log.map((l) => l.d.say)).toEqual(['greeting', 'line']);
    expect(log[1]!.frame).toBe(40 + 6); // the 7th quiet frame: 560 ms ≥ 500
  });

  it('yields to sustained speech while talking, then says its after-interruption line', () => {
    const t = new TurnTaking({ bargeInMs: 96, endOfTurnMs: 500 });
    const log = run(t, [...quiet(7), ...talk(10), ...quiet(10)], 50);
    expect(log[0]!.d).toEqual({ say: 'greeting' });
    expect(log[1]).toEqual({ frame: 8, d: { interrupt: true } }); // second talking frame: 160 ms ≥ 96
    expect(log[2]!.d).toEqual({ say: 'afterInterruption' });
  });

  it('ignores speech shorter than bargeInMs while talking, and does not count it as a turn', () => {
    const blip: Hearing[] = [{ speechMs: 64, silenceMs: 0 }];
    const log = run(new TurnTaking({ bargeInMs: 96 }), [...quiet(6), ...quiet(3), ...blip, ...quiet(40)], 8);
    expect(log.map((l) => l.d)).toEqual([{ say: 'greeting' }]);
  });

  it('backchannels at a pause in a long turn, at most once per gap, and never before greeting', () => {
    const t = new TurnTaking({ backchannelAfterMs: 2000, backchannelPauseMs: 160, backchannelGapMs: 3000, endOfTurnMs: 500 });
    const pause = quiet(3); // 240 ms: a backchannel pause, not an end of turn
    const script = [...quiet(7), ...talk(30), ...pause, ...talk(10), ...pause, ...talk(30), ...pause, ...talk(5), ...quiet(10)];
    const log = run(t, script, 3);
    expect(log.map((l) => l.d.say)).toEqual(['greeting', 'backchannel', 'backchannel', 'line']);
    // Not at the second pause: only 1 s after the first backchannel.
    expect(log[2]!.frame).toBeGreaterThan(7 + 30 + 3 + 10 + 3 + 30);
    const early = run(new TurnTaking({ backchannelAfterMs: 2000, greetAfterMs: 10_000 }), [...talk(30), ...pause, ...talk(10)]);
    expect(early).toEqual([]);
  });

  it('never starts an utterance while one plays', () => {
    const t = new TurnTaking({ endOfTurnMs: 160, bargeInMs: 10_000 });
    const log = run(t, [...quiet(7), ...talk(5), ...quiet(3), ...talk(5), ...quiet(40)], 30);
    for (let i = 1; i < log.length; i++) expect(log[i]!.frame - log[i - 1]!.frame).toBeGreaterThanOrEqual(30);
  });

  describe('hesitating (hesitateMs)', () => {
    const HESITANT = { hesitateMs: 64, bargeInMs: 640, resumeAfterMs: 96, endOfTurnMs: 500 }; // a quick resume: frame counts stay small

    it('pauses at the first frame of speech over it and carries on after a short "yeah", with no barge-in and no turn', () => {
      const yeah = talk(3); // 240 ms
      const log = run(new TurnTaking(HESITANT), [...quiet(7), ...quiet(2), ...yeah, ...quiet(60)], 20);
      expect(log.map((l) => l.d)).toEqual([{ say: 'greeting' }, { pause: true }, { resume: true }]);
      expect(log[1]!.frame).toBe(9); // the first frame of the "yeah": 80 ms ≥ 64
      expect(log[2]!.frame).toBe(9 + 3 + 1); // the second quiet frame after it: 160 ms ≥ 96
    });

    it('stops for good when the player keeps talking to bargeInMs, then says its after-interruption line', () => {
      const log = run(new TurnTaking(HESITANT), [...quiet(7), ...talk(12), ...quiet(10)], 50);
      expect(log.map((l) => l.d)).toEqual([{ say: 'greeting' }, { pause: true }, { interrupt: true }, { say: 'afterInterruption' }]);
      expect(log[1]!.frame).toBe(7); // paused at once
      expect(log[2]!.frame).toBe(7 + 7); // 640 ms of speech: the 8th talking frame
    });

    it('bits of speech with short gaps add up to a barge-in across a resume', () => {
      // "wait" 240 ms, 240 ms gap (resumes after 160 ms), "stop, I have a question" 560 ms: 800 ms over it in all
      const log = run(new TurnTaking(HESITANT), [...quiet(7), ...talk(3), ...quiet(3), ...talk(7), ...quiet(10)], 50);
      expect(log.map((l) => Object.keys(l.d)[0])).toEqual(['say', 'pause', 'resume', 'pause', 'interrupt', 'say']);
    });

    it('is off by default: the same "yeah" gives no pause', () => {
      const log = run(new TurnTaking({ bargeInMs: 640 }), [...quiet(7), ...talk(3), ...quiet(60)], 20);
      expect(log.map((l) => l.d)).toEqual([{ say: 'greeting' }]);
    });
  });

  it('rejects nonsense tuning', () => {
    expect(() => new TurnTaking({ endOfTurnMs: -1 })).toThrow(/endOfTurnMs/);
    expect(() => new TurnTaking({ bargeInMs: NaN })).toThrow(/bargeInMs/);
  });
});
