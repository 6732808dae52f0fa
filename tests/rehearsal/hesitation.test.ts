/**
 * Hesitating when talked over (turn-taking's hesitateMs, the yield policy): the rehearsal engine in-thread with
 * synthetic player speech. A listener's "yeah" makes the NPC pause at once and pick up its line from the word it
 * paused in; a real interruption is silent from the same moment and ends the line with 'interrupted'.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FRAME_SAMPLES, SAMPLE_RATE } from '../../protocol/frame.ts';
import { RehearsalEngine } from '../../server/engines/rehearsal/engine.ts';
import { FADE_SAMPLES } from '../../server/engines/rehearsal/utterance.ts';
import { OPEN_UH_HUH } from '../../server/engines/rehearsal/talk-over-ear.ts';
import { playerSpeech } from './audio-tools.ts';
import { CAPTAIN, Conversation } from './scenario.ts';

const ms = (samples: number) => (samples / SAMPLE_RATE) * 1000;
const HESITANT = { recognition: false, turnTaking: { hesitateMs: 64, bargeInMs: 640, resumeAfterMs: 280 } } as const;
/** what a resumed line goes back over at most: to the word sounding 160 ms before the pause, at most 600 ms */
const LOOK_BACK_MS = 160;

let hesitant: RehearsalEngine;
/** the defaults: hesitation, barge-in at 96 ms, and the talk-over ear judging voices up to 800 ms by their words */
let shipped: RehearsalEngine;
beforeAll(async () => {
  [hesitant, shipped] = await Promise.all([
    RehearsalEngine.create({ tts: 'inline', quiet: true, ...HESITANT }),
    RehearsalEngine.create({ tts: 'inline', quiet: true }),
  ]);
}, 60_000);
afterAll(async () => {
  await Promise.all([hesitant?.dispose(), shipped?.dispose()]);
});

/** Where the voice falls silent (under -60 dBFS) for at least 200 ms, from `from` on: a pause, not a gap between words. */
function silentFrom(v: Float32Array, from: number): number {
  let run = 0;
  for (let i = from; i < v.length; i++) {
    run = Math.abs(v[i]!) < 1e-3 ? run + 1 : 0;
    if (run >= 0.2 * SAMPLE_RATE) return i - run + 1;
  }
  return -1;
}

/** Greeted, asked, and a second into the answer. */
async function answering(engine: RehearsalEngine = hesitant) {
  const id = await engine.open(CAPTAIN);
  await engine.ready(id);
  const c = new Conversation(engine, id);
  await c.silence(5000);
  await c.say((await playerSpeech(['Captain, what is going on with the reactor?'], {})).samples);
  const line = () => engine.groundTruth(id).find((r) => r.kind === 'line' && r.startFrame >= 0);
  for (let i = 0; i < 50 && !line(); i++) await c.silence(80);
  await c.silence(1000);
  expect(c.frame).toBeLessThan(line()!.startFrame + line()!.frames); // still talking
  return { c, line: line()! };
}

describe('rehearsal engine: hesitating when talked over (words not judged: any voice under 640 ms lets the line go on)', () => {
  it('pauses within 200 ms for a "yeah", then finishes its line, every word once, with no interruption', async () => {
    const { c, line } = await answering();
    const yeah = await playerSpeech(['Yeah.'], {});
    const onset = await c.say(yeah.samples);
    await c.silence(8000);
    // silent within 200 ms of the "yeah" (the pause's fade included) ...
    const quietFrom = silentFrom(c.voice, onset);
    expect(ms(quietFrom - onset)).toBeLessThanOrEqual(200 + ms(FADE_SAMPLES));
    // ... for a hesitation, not for good: it speaks again within half a second of the "yeah" ending
    const back = c.firstSound(quietFrom);
    expect(ms(back - (onset + yeah.spans[0]!.end))).toBeLessThan(500);
    console.log('"yeah": quiet %d ms after its onset, back %d ms after its end', Math.round(ms(quietFrom - onset)), Math.round(ms(back - (onset + yeah.spans[0]!.end))));
    expect(c.framesWithEvent('interrupted')).toEqual([]);
    // it says so: 'paused' with the frame it fell quiet in, 'resumed' with the frame it speaks again in
    const paused = c.framesWithEvent('paused');
    const resumed = c.framesWithEvent('resumed');
    expect(paused).toHaveLength(1);
    expect(resumed).toHaveLength(1);
    expect(paused[0]! * FRAME_SAMPLES).toBeLessThanOrEqual(quietFrom);
    expect(paused[0]! * FRAME_SAMPLES + FRAME_SAMPLES).toBeGreaterThanOrEqual(quietFrom);
    expect(resumed[0]! * FRAME_SAMPLES).toBeLessThanOrEqual(back);
    expect(resumed[0]! * FRAME_SAMPLES + FRAME_SAMPLES).toBeGreaterThan(back);
    const record = hesitant.groundTruth(c.session).find((r) => r.startFrame === line.startFrame)!;
    expect(record.interruptedAt).toBeUndefined();
    // the caption is the whole line, each word once
    expect(c.caption(line.startFrame).startsWith(record.text)).toBe(true);
    // no answer to the "yeah": it was not a turn
    expect(hesitant.groundTruth(c.session).filter((r) => r.kind === 'line')).toHaveLength(1);
  });

  it('is silent from the same moment when the player really cuts in, and reports interrupted once it is sure', async () => {
    const { c } = await answering();
    const cut = await playerSpeech(['Wait, wait, stop right there, I have a question.'], {});
    const onset = await c.say(cut.samples);
    await c.silence(3000);
    const quietFrom = silentFrom(c.voice, onset);
    expect(ms(quietFrom - onset)).toBeLessThanOrEqual(200 + ms(FADE_SAMPLES));
    const events = c.framesWithEvent('interrupted');
    expect(events).toHaveLength(1);
    expect(c.framesWithEvent('paused')).toHaveLength(1); // paused first, then gave up: never resumed
    expect(c.framesWithEvent('resumed')).toEqual([]);
    expect(ms(events[0]! * FRAME_SAMPLES - onset)).toBeGreaterThanOrEqual(640 - 80); // bargeInMs of speech heard
    const lv = (f: number) => Math.sqrt(c.voice.subarray(f * FRAME_SAMPLES, (f + 1) * FRAME_SAMPLES).reduce((a, v) => a + v * v, 0) / FRAME_SAMPLES);
    console.log('cut: onset frame %d, quiet from frame %d, interrupted at %j; frames: %s', onset / FRAME_SAMPLES, quietFrom / FRAME_SAMPLES, events, Array.from({ length: 20 }, (_, k) => lv(onset / FRAME_SAMPLES + k).toFixed(2)).join(' '));
    // nothing of the line between the pause and the interruption
    expect(c.firstSound(quietFrom)).toBeGreaterThan(onset + cut.spans[0]!.end);
    const next = hesitant.groundTruth(c.session).filter((r) => r.kind !== 'backchannel').at(-1)!;
    expect(next.kind).toBe('afterInterruption');
  });

  it('goes back to the word a listener last heard: the one sounding 160 ms before the pause, said again whole', async () => {
    const { c, line } = await answering();
    const onset = await c.say((await playerSpeech(['Okay.'], {})).samples);
    await c.silence(6000);
    const record = hesitant.groundTruth(c.session).find((r) => r.startFrame === line.startFrame)!;
    expect(record.resumed).toBe(1);
    const pausedFrame = c.framesWithEvent('paused')[0]!;
    const resumedFrame = c.framesWithEvent('resumed')[0]!;
    // the line's own sample position at the pause: frames it played before it
    const playedBefore = (pausedFrame - line.startFrame) * FRAME_SAMPLES;
    const heardUpTo = playedBefore - (LOOK_BACK_MS / 1000) * SAMPLE_RATE;
    const words = record.words;
    // the word sounding at heardUpTo, on the line's own grid (onsets are in samples of the line)
    const expected = words.filter((w) => w.onset < heardUpTo).at(-1)!;
    // on resume, the word's new onset frame is the resume frame (its audio starts again there)
    expect(expected.absoluteOnsetFrame).toBe(resumedFrame);
    console.log('pause at line sample %d (onset %d), resumed from "%s" at %d', playedBefore, onset, expected.piece, expected.onset);
  });
});

describe('rehearsal engine as shipped: the words of a short voice over it decide', () => {
  // this voice's "Yeah." decodes as phones (a miss, counted by bench turns), so its "okay" and "I see" stand in
  it('carries on after a listener\'s "okay" and "I see": paused, resumed, never interrupted', async () => {
    for (const text of ['Okay.', 'I see.']) {
      const { c, line } = await answering(shipped);
      await c.say((await playerSpeech([text], {})).samples);
      await c.silence(4000);
      const record = shipped.groundTruth(c.session).find((r) => r.startFrame === line.startFrame)!;
      expect(record.talkOvers, text).toEqual([expect.objectContaining({ verdict: 'backchannel' })]);
      expect(record.interruptedAt, text).toBeUndefined();
      expect(c.framesWithEvent('resumed'), text).toHaveLength(1);
      expect(c.framesWithEvent('interrupted'), text).toEqual([]);
    }
  });

  it('gives the line up after a lone "stop" or "hold on", silent from the pause: no word of it comes back', async () => {
    for (const text of ['Stop.', 'Hold on.']) {
      const { c, line } = await answering(shipped);
      const cut = await playerSpeech([text], {});
      const onset = await c.say(cut.samples);
      await c.silence(3000);
      const record = shipped.groundTruth(c.session).find((r) => r.startFrame === line.startFrame)!;
      expect(record.talkOvers, text).toEqual([expect.objectContaining({ verdict: 'other' })]);
      // this voice's lone "Hold on." decodes as "aha", as an open-vowel "uh huh" does: its voiced middle (/l d/, not
      // the breath of an /h/) is what keeps it from carrying the line on (talk-over-ear.ts, OPEN_UH_HUH)
      if (text === 'Hold on.') expect(record.talkOvers![0]!.heard).toBe(OPEN_UH_HUH);
      expect(record.interruptedAt, text).toBeDefined();
      expect(record.endFrame, text).toBe(record.pausedAt); // the stop the player heard was the pause
      expect(c.framesWithEvent('resumed'), text).toEqual([]);
      expect(c.framesWithEvent('interrupted'), text).toHaveLength(1);
      // nothing more of the line after the pause: the next sound is the after-interruption line
      const quietFrom = silentFrom(c.voice, onset);
      expect(ms(quietFrom - onset), text).toBeLessThanOrEqual(200 + ms(FADE_SAMPLES));
      const next = shipped.groundTruth(c.session).filter((r) => r.kind !== 'backchannel').at(-1)!;
      expect(next.kind, text).toBe('afterInterruption');
      expect(c.firstSound(quietFrom), text).toBeGreaterThanOrEqual(next.startFrame * FRAME_SAMPLES);
    }
  });
});
