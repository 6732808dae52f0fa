import { describe, expect, it } from 'vitest';
import { TurnTaking, type Hearing } from '../../server/engines/rehearsal/turn-taking.ts';
import { run, talk } from './turn-script.ts';


/** These cases are about other decisions: without the default hesitation (its own cases are below). */
const STEADY = { hesitateMs: 0 } as const;

/** Hearing for `ms` of silence after `already` ms of it, or of speech. */
const quiet = (frames: number, from = 0): Hearing[] => Array.from({ length: frames }, (_, i) => ({ speechMs: 0, silenceMs: from + (i + 1) * 80 }));

describe('TurnTaking', () => {
  it('greets once after a quiet start, then waits for the player', () => {
    const log = run(new TurnTaking({ ...STEADY, greetAfterMs: 480 }), quiet(100));
    expect(log).toEqual([{ frame: 5, d: { say: 'greeting' } }]);
  });

  it('answers after endOfTurnMs of quiet following player speech', () => {
    const log = run(new TurnTaking({ ...STEADY, endOfTurnMs: 500 }), [...quiet(20), ...talk(20), ...quiet(20)]);
    expect(log.map((l) => l.d.say)).toEqual(['greeting', 'line']);
    expect(log[1]!.frame).toBe(40 + 6); // the 7th quiet frame: 560 ms ≥ 500
  });

  it('yields to sustained speech while talking, then says its after-interruption line', () => {
    const t = new TurnTaking({ ...STEADY, bargeInMs: 96, endOfTurnMs: 500 });
    const log = run(t, [...quiet(7), ...talk(10), ...quiet(10)], 50);
    expect(log[0]!.d).toEqual({ say: 'greeting' });
    expect(log[1]).toEqual({ frame: 8, d: { interrupt: true } }); // second talking frame: 160 ms ≥ 96
    expect(log[2]!.d).toEqual({ say: 'afterInterruption' });
  });

  it('ignores speech shorter than bargeInMs while talking, and does not count it as a turn', () => {
    const blip: Hearing[] = [{ speechMs: 64, silenceMs: 0 }];
    const log = run(new TurnTaking({ ...STEADY, bargeInMs: 96 }), [...quiet(6), ...quiet(3), ...blip, ...quiet(40)], 8);
    expect(log.map((l) => l.d)).toEqual([{ say: 'greeting' }]);
  });

  it('backchannels at a pause in a long turn, at most once per gap, and never before greeting', () => {
    const t = new TurnTaking({ ...STEADY, backchannelAfterMs: 2000, backchannelPauseMs: 160, backchannelGapMs: 3000, endOfTurnMs: 500 });
    const pause = quiet(3); // 240 ms: a backchannel pause, not an end of turn
    const script = [...quiet(7), ...talk(30), ...pause, ...talk(10), ...pause, ...talk(30), ...pause, ...talk(5), ...quiet(10)];
    const log = run(t, script, 3);
    expect(log.map((l) => l.d.say)).toEqual(['greeting', 'backchannel', 'backchannel', 'line']);
    // Not at the second pause: only 1 s after the first backchannel.
    expect(log[2]!.frame).toBeGreaterThan(7 + 30 + 3 + 10 + 3 + 30);
    const early = run(new TurnTaking({ ...STEADY, backchannelAfterMs: 2000, greetAfterMs: 10_000 }), [...talk(30), ...pause, ...talk(10)]);
    expect(early).toEqual([]);
  });

  it('never starts an utterance while one plays', () => {
    const t = new TurnTaking({ ...STEADY, endOfTurnMs: 160, bargeInMs: 10_000 });
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

    it('is on by default, at the first window of speech, and hesitateMs 0 turns it off: the same "yeah" gives no pause', () => {
      const on = run(new TurnTaking({ bargeInMs: 640 }), [...quiet(7), ...talk(3), ...quiet(60)], 20);
      expect(on.map((l) => Object.keys(l.d)[0])).toEqual(['say', 'pause', 'resume']);
      expect(on[1]!.frame).toBe(7);
      const off = run(new TurnTaking({ bargeInMs: 640, hesitateMs: 0 }), [...quiet(7), ...talk(3), ...quiet(60)], 20);
      expect(off.map((l) => l.d)).toEqual([{ say: 'greeting' }]);
    });

    it("pauses on the VAD's first unsure windows of a word (onsetMs) before they count as speech", () => {
      // Silero's first windows of "no" at 0.3–0.5: not speech yet, but the NPC falls quiet in that frame
      const starting: Hearing[] = [{ speechMs: 0, silenceMs: 800, onsetMs: 32 }, { speechMs: 0, silenceMs: 880, onsetMs: 96 }];
      const log = run(new TurnTaking({ bargeInMs: 96 }), [...quiet(7), ...quiet(2), ...starting, ...talk(3), ...quiet(20)], 30);
      expect(log.map((l) => Object.keys(l.d)[0])).toEqual(['say', 'pause', 'interrupt', 'say']);
      expect(log[1]!.frame).toBe(9); // the frame the word began in
      expect(log[2]!.frame).toBe(12); // 96 ms of speech: barge-in as before
    });

    describe('with a judge of words (the talk-over ear)', () => {
      // A soft onset the VAD confirms late and all at once: the voice is already 160 ms long when first heard.
      const late: Hearing[] = [160, 240, 320].map((speechMs) => ({ speechMs, silenceMs: 0 }));
      const judged = { bargeInMs: 96, backchannelMaxMs: 640, resumeAfterMs: 160 };

      it('pauses for a voice first heard already as long as a barge-in, and lets its words decide once it ends', () => {
        const log = run(new TurnTaking(judged, { judgesWords: true }), [...quiet(7), ...late, ...quiet(20)], 30);
        expect(log.map((l) => l.d)).toEqual([{ say: 'greeting' }, { pause: true }, { resume: true, ifBackchannel: true }]);
        expect(log[1]!.frame).toBe(7);
      });

      it('without one, the same voice is a barge-in at once; with one, a voice past backchannelMaxMs is', () => {
        const blind = run(new TurnTaking(judged), [...quiet(7), ...late, ...quiet(20)], 30);
        expect(blind.map((l) => Object.keys(l.d)[0])).toEqual(['say', 'interrupt', 'say']);
        expect(blind[1]!.frame).toBe(7);
        const long = run(new TurnTaking(judged, { judgesWords: true }), [...quiet(7), ...talk(10), ...quiet(20)], 40);
        expect(long.map((l) => Object.keys(l.d)[0])).toEqual(['say', 'pause', 'interrupt', 'say']);
        expect(long[2]!.frame).toBe(7 + 7); // 640 ms of speech
      });
    });

    it('an unsure onset that no speech follows costs a pause of resumeAfterShortMs, counted from the pause, not the line', () => {
      // the silence began long before the blip: the line must not come straight back on the next frame
      const blip: Hearing[] = [{ speechMs: 0, silenceMs: 800, onsetMs: 32 }];
      const log = run(new TurnTaking({ resumeAfterMs: 280, resumeAfterShortMs: 280 }), [...quiet(7), ...quiet(2), ...blip, ...quiet(20, 880)], 30);
      expect(log.map((l) => Object.keys(l.d)[0])).toEqual(['say', 'pause', 'resume']);
      expect(log[2]!.frame - log[1]!.frame).toBe(4); // 320 ms ≥ 280 after the pause
    });

    it('after a sound too short to be speech it waits resumeAfterShortMs (an echo round trip), after a word resumeAfterMs', () => {
      // 64 ms of speech (under minSpeechMs): a click, or the first sound of a word a canceller is still masking
      const click: Hearing[] = [{ speechMs: 32, silenceMs: 0 }, { speechMs: 64, silenceMs: 0 }];
      const short = run(new TurnTaking({ hesitateMs: 32, bargeInMs: 640 }), [...quiet(7), ...click, ...quiet(20)], 40);
      expect(short.map((l) => Object.keys(l.d)[0])).toEqual(['say', 'pause', 'resume']);
      expect(short[2]!.frame - short[1]!.frame).toBe(2 + 7); // the click, then 640 ms of quiet
      // a 240 ms word resumes after resumeAfterMs (280): a listener's "yeah" costs no longer a pause than before
      const word = run(new TurnTaking({ hesitateMs: 32, bargeInMs: 640 }), [...quiet(7), ...talk(3), ...quiet(20)], 40);
      expect(word.map((l) => Object.keys(l.d)[0])).toEqual(['say', 'pause', 'resume']);
      expect(word[2]!.frame - word[1]!.frame).toBe(3 + 3); // the word, then 4th quiet frame: 320 ms ≥ 280
    });
  });

  describe('holding a pause while the mix is loud (pauseHoldMaxMs)', () => {
    // The player's first sound paused the NPC, then their words go on at a voice's level but the VAD hears
    // silence (what Silero did after a loudspeaker player's echo canceller took their first syllables down).
    const click: Hearing[] = [{ speechMs: 32, silenceMs: 0, sinceLoudMs: 0 }, { speechMs: 64, silenceMs: 0, sinceLoudMs: 0 }];
    const lostVoice = (frames: number, from = 0): Hearing[] => quiet(frames, from).map((h) => ({ ...h, sinceLoudMs: 0 }));
    const fallsQuiet = (frames: number, from: number): Hearing[] => quiet(frames, from).map((h, i) => ({ ...h, sinceLoudMs: (i + 1) * 80 }));
    const kinds = (log: ReturnType<typeof run>) => log.map((l) => Object.keys(l.d)[0]);

    it('stays paused while the voice goes on, and resumes resumeAfterMs after it falls quiet', () => {
      const t = new TurnTaking({ hesitateMs: 32, bargeInMs: 640, pauseHoldMaxMs: 1500 });
      const log = run(t, [...quiet(7), ...click, ...lostVoice(10, 0), ...fallsQuiet(20, 800)], 60);
      expect(kinds(log)).toEqual(['say', 'pause', 'resume']);
      // the voice's 10 loud frames, then the 4th frame under the voice level: 320 ms ≥ 280
      expect(log[2]!.frame - log[1]!.frame).toBe(2 + 10 + 3);
      // the VAD alone (no level known) brings the line back in the voice, as before: 640 ms after the click
      const blind = run(new TurnTaking({ hesitateMs: 32, bargeInMs: 640 }), [...quiet(7), ...click, ...quiet(30)], 60);
      expect(blind[2]!.frame - blind[1]!.frame).toBe(2 + 7);
    });

    it('only after a sound too short to be speech: a word the VAD followed to its end resumes as before', () => {
      // (a listener's "yeah" over a loud room: its pause, and so the talk-over ear's verdict, do not move)
      const word = talk(3).map((h) => ({ ...h, sinceLoudMs: 0 }));
      const log = run(new TurnTaking({ hesitateMs: 32, bargeInMs: 640, pauseHoldMaxMs: 1500 }), [...quiet(7), ...word, ...lostVoice(20)], 60);
      expect(kinds(log)).toEqual(['say', 'pause', 'resume']);
      expect(log[2]!.frame - log[1]!.frame).toBe(3 + 3); // the word, then 320 ms ≥ 280 of the VAD's quiet
    });

    it('gives up holding pauseHoldMaxMs after the pause (a loud room is a pause, not the line), and 0 turns it off', () => {
      const held = run(new TurnTaking({ hesitateMs: 32, bargeInMs: 640, pauseHoldMaxMs: 1200 }), [...quiet(7), ...click, ...lostVoice(40)], 80);
      expect(kinds(held)).toEqual(['say', 'pause', 'resume']);
      expect(held[2]!.frame - held[1]!.frame).toBe(15); // 1200 ms after the pause
      const off = run(new TurnTaking({ hesitateMs: 32, bargeInMs: 640, pauseHoldMaxMs: 0 }), [...quiet(7), ...click, ...lostVoice(40)], 80);
      expect(off[2]!.frame - off[1]!.frame).toBe(2 + 7);
    });

    it('a voice the VAD hears again while the pause is held ends the line as a barge-in', () => {
      const t = new TurnTaking({ hesitateMs: 32, bargeInMs: 640, pauseHoldMaxMs: 1500 });
      const log = run(t, [...quiet(7), ...click, ...lostVoice(8), ...talk(10), ...quiet(20)], 60);
      expect(kinds(log)).toEqual(['say', 'pause', 'interrupt', 'say']);
    });
  });

  it('rejects nonsense tuning', () => {
    expect(() => new TurnTaking({ endOfTurnMs: -1 })).toThrow(/endOfTurnMs/);
    expect(() => new TurnTaking({ bargeInMs: NaN })).toThrow(/bargeInMs/);
  });
});
