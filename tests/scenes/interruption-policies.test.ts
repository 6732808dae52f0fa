/**
 * The four interruption policies on the rehearsal engine, driven in-thread frame by frame with synthetic player
 * speech (tests/rehearsal/scenario.ts): a line is cut into one second after it starts, and what the NPC does is
 * read from its output (events, text pieces, audio) and its ground truth.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FRAME_SAMPLES, SAMPLE_RATE } from '../../protocol/frame.ts';
import type { Persona } from '../../server/engines/contract.ts';
import { RehearsalEngine } from '../../server/engines/rehearsal/engine.ts';
import { phraseEndFrame } from '../../server/engines/rehearsal/interruption-policy.ts';
import type { InterruptionPolicy } from '../../server/persona/interruption.ts';
import { playerSpeech } from '../rehearsal/audio-tools.ts';
import { CAPTAIN, Conversation } from '../rehearsal/scenario.ts';

const ms = (samples: number) => (samples / SAMPLE_RATE) * 1000;
const FIXED = { prosody: false, recognition: false, turnTaking: { endOfTurnMs: 500, bargeInMs: 96 } } as const;

let engine: RehearsalEngine;
beforeAll(async () => {
  engine = await RehearsalEngine.create({ tts: 'inline', quiet: true, ...FIXED });
});
afterAll(async () => {
  await engine?.dispose();
});

/** Greeted, asked, and one second into its first line, the player talks over it (about 1 s); then 5 s of quiet. */
async function cutInto(policy: InterruptionPolicy | undefined) {
  const persona: Persona = { ...CAPTAIN, ...(policy ? { whenInterrupted: policy } : {}) };
  const id = await engine.open(persona);
  await engine.ready(id);
  const c = new Conversation(engine, id);
  await c.silence(5000);
  const ask = await playerSpeech(['Captain, what is going on with the reactor?']);
  await c.say(ask.samples);
  const line = () => engine.groundTruth(id).find((r) => r.kind === 'line' && r.startFrame >= 0);
  for (let i = 0; i < 50 && !line(); i++) await c.silence(80);
  await c.silence(1000);
  const l = line()!;
  expect(c.frame).toBeLessThan(l.startFrame + l.frames - 30); // well inside the line
  const over = await playerSpeech(['Wait, stop right there.']);
  const onset = await c.say(over.samples);
  const overEnd = onset + over.spans.at(-1)!.end;
  await c.silence(5000);
  const records = engine.groundTruth(id);
  return { c, id, records, lineIndex: records.findIndex((r) => r.kind === 'line'), onset, overEnd };
}

describe('interruption policies (rehearsal engine)', () => {
  it('phraseEndFrame: the onset of the first word after the phrase being spoken, or the line end', () => {
    const words = [
      { piece: '▁Stay', onsetFrame: 0 },
      { piece: '▁calm.', onsetFrame: 3 },
      { piece: '▁We', onsetFrame: 8 },
      { piece: '▁trained,', onsetFrame: 10 },
      { piece: '▁hard', onsetFrame: 14 },
    ];
    expect(phraseEndFrame(words, 1, 20)).toBe(8); // in "Stay": the phrase ends after "calm."
    expect(phraseEndFrame(words, 5, 20)).toBe(8); // in "calm."
    expect(phraseEndFrame(words, 9, 20)).toBe(14); // in "We"
    expect(phraseEndFrame(words, 15, 20)).toBe(20); // in the last phrase: its end
    expect(phraseEndFrame([], 0, 4)).toBe(4);
  });

  it('yield (the default): stops within 200 ms and says its after-interruption line', async () => {
    const { c, records, lineIndex, onset, overEnd } = await cutInto(undefined);
    const events = c.framesWithEvent('interrupted');
    expect(events).toHaveLength(1);
    expect(ms(events[0]! * FRAME_SAMPLES - onset)).toBeLessThanOrEqual(200);
    expect(records[lineIndex]!.interruptedAt).toBe(events[0]);
    const next = records.slice(lineIndex + 1).filter((r) => r.kind !== 'backchannel');
    expect(next.map((r) => r.kind)).toEqual(['afterInterruption']);
    expect(next[0]!.startFrame * FRAME_SAMPLES).toBeGreaterThan(overEnd);
  });

  it('finish_phrase: plays on to the end of its phrase, stops where the next phrase would start', async () => {
    const { c, records, lineIndex, onset, overEnd } = await cutInto('finish_phrase');
    const events = c.framesWithEvent('interrupted');
    expect(events).toHaveLength(1);
    const line = records[lineIndex]!;
    const stop = events[0]!;
    expect(line.interruptedAt).toBe(stop);
    // in this line the cut lands mid-phrase ("… on deck three,"): it plays on well past where yield stops
    expect(ms(stop * FRAME_SAMPLES - onset)).toBeGreaterThan(400);
    // it heard the barge-in (≤ 200 ms, as for yield) and then went on: it stopped exactly at a phrase boundary
    const decidedBy = Math.ceil((onset + 0.2 * SAMPLE_RATE) / FRAME_SAMPLES);
    const rel = line.words.map((w) => ({ piece: w.piece, onsetFrame: w.onsetFrame }));
    const boundaries = [line.frames, ...rel.slice(1).filter((_, i) => /[,.;:!?]$/.test(rel[i]!.piece)).map((w) => w.onsetFrame)].map((f) => line.startFrame + f);
    expect(boundaries).toContain(stop);
    const played = line.words.filter((w) => w.absoluteFrame < stop);
    expect(played.at(-1)!.piece).toMatch(/[,.;:!?]$/); // the last word it said ends a phrase
    expect(stop).toBeGreaterThanOrEqual(Math.floor(onset / FRAME_SAMPLES));
    // the first boundary at or after the decision (no later one)
    expect(boundaries.filter((b) => b >= Math.floor(onset / FRAME_SAMPLES) && b < stop)).toEqual([]);
    expect(stop).toBeLessThanOrEqual(Math.max(decidedBy, ...boundaries.filter((b) => b <= stop)));
    // captions stop with the phrase; silence after the fade until its after-interruption line
    expect(c.caption(line.startFrame, stop + 1)).toBe(played.map((w) => w.piece.slice(1)).join(' '));
    const next = records.slice(lineIndex + 1).filter((r) => r.kind !== 'backchannel');
    expect(next.map((r) => r.kind)).toEqual(['afterInterruption']);
    expect(next[0]!.startFrame * FRAME_SAMPLES).toBeGreaterThan(overEnd);
  });

  it('hold: keeps the floor to the end of its line, then answers what was said over it', async () => {
    const { c, records, lineIndex, overEnd } = await cutInto('hold');
    expect(c.framesWithEvent('interrupted')).toEqual([]);
    const line = records[lineIndex]!;
    expect(line.interruptedAt).toBeUndefined();
    const end = line.startFrame + line.frames;
    expect(overEnd).toBeLessThan(end * FRAME_SAMPLES); // the player stopped before the line ended
    expect(c.caption(line.startFrame, end)).toBe(line.text); // every word of it
    const next = records.slice(lineIndex + 1).filter((r) => r.kind !== 'backchannel');
    expect(next.map((r) => r.kind)).toEqual(['line']); // an answer, not "sorry, go on"
    expect(next[0]!.startFrame).toBeGreaterThanOrEqual(end);
    expect(ms((next[0]!.startFrame - end) * FRAME_SAMPLES)).toBeLessThanOrEqual(200);
  });

  it('talk_over: keeps the floor to the end of its line and drops what was said over it', async () => {
    const { c, records, lineIndex, overEnd } = await cutInto('talk_over');
    expect(c.framesWithEvent('interrupted')).toEqual([]);
    const line = records[lineIndex]!;
    const end = line.startFrame + line.frames;
    expect(overEnd).toBeLessThan(end * FRAME_SAMPLES);
    expect(c.caption(line.startFrame, end)).toBe(line.text); // every word of it
    expect(records.slice(lineIndex + 1)).toEqual([]); // nothing more: the player's words were talked over
    // speech after the line still gets its turn
    const again = await playerSpeech(['Captain, I said I have a question.']);
    await c.say(again.samples);
    await c.silence(3000);
    expect(engine.groundTruth(c.session).slice(lineIndex + 1).map((r) => r.kind)).toEqual(['line']);
  });
});
