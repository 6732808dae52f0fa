/**
 * The talk-over ear (server/engines/rehearsal/talk-over-ear.ts) with the real recogniser (soundswallower) on
 * synthetic voices: a listener's backchannel is told from a short "stop" by its words, and with no decoder to
 * spare there is no verdict (the old rule applies).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FRAME_SAMPLES } from '../../protocol/frame.ts';
import { TopicRecognizer } from '../../server/engines/rehearsal/recognizer.ts';
import { BACKCHANNEL_GRAMMAR, BACKCHANNEL_PHRASES, BACKCHANNEL_WEIGHT, INTERRUPTION_PHRASES, OPEN_UH_HUH, TalkOverDecoders, TalkOverEar, type TalkOverVerdict } from '../../server/engines/rehearsal/talk-over-ear.ts';
import { VOICE_PROFILES } from '../../server/engines/rehearsal/voices.ts';
import { playerSpeech, PLAYER_VOICE } from './audio-tools.ts';

let recognizer: TopicRecognizer;
/** one decoder, so the test can hold it */
let decoders: TalkOverDecoders;
beforeAll(async () => {
  recognizer = await TopicRecognizer.create({ decoders: 1 });
  decoders = await TalkOverDecoders.create(recognizer, 1);
}, 60_000);
afterAll(() => {
  decoders?.dispose();
  recognizer?.dispose();
});

/** What the ear says about `text` heard over the NPC: frames of quiet, the pause at the voice's second frame, the voice, quiet. */
async function verdictFor(ear: TalkOverEar, text: string, voice = PLAYER_VOICE): Promise<TalkOverVerdict> {
  const speech = await playerSpeech([text], { voice, leadMs: 400, tailMs: 300 });
  const frames = Math.ceil(speech.samples.length / FRAME_SAMPLES);
  const pauseAt = Math.floor(speech.spans[0]!.start / FRAME_SAMPLES) + 1;
  for (let f = 0; f < frames; f++) {
    const frame = new Float32Array(FRAME_SAMPLES);
    frame.set(speech.samples.subarray(f * FRAME_SAMPLES, Math.min(speech.samples.length, (f + 1) * FRAME_SAMPLES)));
    ear.push(frame);
    if (f === pauseAt) ear.listen();
  }
  return ear.verdict();
}

describe('talk-over ear', () => {
  const voices = [PLAYER_VOICE, VOICE_PROFILES.NATF2];
  // Recall is not perfect on synthetic voices (56 of 66 over the eleven bench voices: the rest decode as phones and
  // end the line, as every "yeah" did before the ear); a real interruption taken for a backchannel is the error
  // that must not happen.
  it('hears most of a listener\'s "yeah", "okay", "uh huh", "I see", "right" as backchannels, in two voices', async () => {
    const ear = new TalkOverEar(decoders);
    const heard: string[] = [];
    for (const voice of voices) {
      for (const text of ['Yeah.', 'Okay.', 'Uh huh.', 'I see.', 'Right.']) heard.push(`${text} ${await verdictFor(ear, text, voice)} (${ear.heard})`);
    }
    expect(heard.filter((h) => h.includes(' backchannel ')).length, heard.join('; ')).toBeGreaterThanOrEqual(6);
  });

  it('never hears "stop", "wait", "hold on", "hang on", "no", "hey", "excuse me", "sorry", "listen" as a backchannel', async () => {
    const ear = new TalkOverEar(decoders);
    for (const voice of voices) {
      for (const text of ['Stop.', 'Wait.', 'Hold on.', 'Hang on.', 'No, no, wait.', 'No.', 'Hey.', 'Excuse me.', 'Sorry.', 'Listen.']) {
        expect(`${text} ${await verdictFor(ear, text, voice)} (${ear.heard})`).toBe(`${text} other (${ear.heard})`);
      }
    }
  });

  it('keeps its two phrase lists apart: no interruption opener is also a backchannel', () => {
    expect(INTERRUPTION_PHRASES.filter((p) => BACKCHANNEL_PHRASES.includes(p))).toEqual([]);
    expect(BACKCHANNEL_GRAMMAR).toContain(`<cut> = ${INTERRUPTION_PHRASES.join(' | ')};`);
    // ties between a backchannel and its own phones go to the backchannel (its effect: bench talk-over)
    expect(BACKCHANNEL_GRAMMAR).toContain(`public <heard> = /${BACKCHANNEL_WEIGHT}/ <bc> | /1/ ${OPEN_UH_HUH} | /1/ <cut> | /1/ <garbage>;`);
    expect(BACKCHANNEL_PHRASES).not.toContain(OPEN_UH_HUH); // a backchannel only with a breathed /h/ (below)
    expect(BACKCHANNEL_WEIGHT).toBeGreaterThan(1);
  });

  // This voice's "uh huh" is open-voweled: the decoder hears "aha", and its middle is breath. (The refusal, a voiced
  // middle, is tests/rehearsal/hesitation.test.ts's "Hold on."; voiceless-gap.test.ts has the rule itself.)
  it('takes the "aha" of an open-vowel "uh huh" for a backchannel: its /h/ is breath', async () => {
    const own = await TalkOverDecoders.create(recognizer, 1);
    try {
      const ear = new TalkOverEar(own);
      expect(await verdictFor(ear, 'Uh huh.')).toBe('backchannel');
      expect(ear.heard).toBe(OPEN_UH_HUH);
    } finally {
      own.dispose();
    }
  });

  it('gives a session back the decoder it had last when that one is free (it is adapted to that voice)', async () => {
    const two = await TalkOverDecoders.create(recognizer, 2);
    try {
      const a = two.acquire()!;
      const b = two.acquire()!;
      expect(a).not.toBe(b);
      two.release(a);
      two.release(b); // b is now the one a plain acquire() would take
      expect(two.acquire(a)).toBe(a);
      expect(two.acquire(a)).toBe(b); // a is held: any free one
      expect(two.acquire(a)).toBeUndefined();
      expect(two.missed).toBe(1);
    } finally {
      two.dispose();
    }
  });

  it('has no verdict without a recogniser, or while another session holds the only decoder; gives the decoder back', async () => {
    expect(await verdictFor(new TalkOverEar(undefined), 'Stop.')).toBe('unknown');
    const a = new TalkOverEar(decoders);
    const b = new TalkOverEar(decoders);
    a.listen();
    expect(await verdictFor(b, 'Stop.')).toBe('unknown');
    expect(decoders.missed).toBe(1);
    a.stop();
    expect(await verdictFor(b, 'Stop.')).toBe('other');
    expect(await verdictFor(a, 'Okay.')).toBe('backchannel');
  });
});
