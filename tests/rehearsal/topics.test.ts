/**
 * Topic understanding in the rehearsal engine (issue 21): questions spoken by Flite (a stand-in for a player's
 * voice) are decoded while the player speaks and answered at the end of the turn with the matched topic's line,
 * or "didn't catch that"; the end of the turn comes no later than without recognition.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Persona } from '../../server/engines/contract.ts';
import { RehearsalEngine, type UtteranceRecord } from '../../server/engines/rehearsal/engine.ts';
import type { CompiledTopics } from '../../server/engines/rehearsal/topic-matcher.ts';
import { compileSheetFile } from '../../server/sheets/compile.ts';
import { compileTopics } from '../../server/sheets/topics.ts';
import { estimateCounter } from '../../server/persona/tokens.ts';
import { Conversation, CAPTAIN } from './scenario.ts';
import { speak, SPEAKERS } from './spoken-questions.ts';

const alex: Persona = compileSheetFile(new URL('../../character-sheets/alex.yaml', import.meta.url).pathname, { counter: estimateCounter }).sheet!.persona;
const slt = SPEAKERS.find((s) => s.label === 'flite:slt')!;

let engine: RehearsalEngine;
let plain: RehearsalEngine;
beforeAll(async () => {
  [engine, plain] = await Promise.all([
    RehearsalEngine.create({ tts: 'inline', quiet: true }),
    RehearsalEngine.create({ tts: 'inline', quiet: true, recognition: false }),
  ]);
}, 60_000);
afterAll(async () => {
  await Promise.all([engine?.dispose(), plain?.dispose()]);
});

/** Greets, then asks each question once the NPC is quiet; returns the utterance that answered each question. */
async function askAll(e: RehearsalEngine, persona: Persona, questions: Float32Array[]) {
  const id = await e.open(persona);
  await e.ready(id);
  const c = new Conversation(e, id);
  await c.silence(800);
  const quiet = async () => {
    for (let k = 0; k < 150; k++) {
      const last = e.groundTruth(id).at(-1);
      if (last && last.startFrame >= 0 && c.frame > last.startFrame + last.frames + 3) return;
      await c.silence(80);
    }
  };
  await quiet();
  const answers: { record?: UtteranceRecord; framesAfterQuestion?: number }[] = [];
  for (const q of questions) {
    const from = c.frame;
    await c.say(q);
    const end = c.frame;
    await c.silence(2400);
    const record = e.groundTruth(id).find((r) => r.kind !== 'backchannel' && r.startFrame >= from);
    answers.push({ record, framesAfterQuestion: record ? record.startFrame - end : undefined });
    await quiet();
  }
  await e.close(id);
  return answers;
}

describe('rehearsal engine: topics', () => {
  it('answers a reactor question with the reactor line and a coolant question with the coolant line', async () => {
    const [reactor, coolant] = await askAll(engine, alex, [speak("what's going on with the reactor", slt), speak('how much coolant do we have left', slt)]);
    expect(reactor!.record?.topic).toBe('reactor');
    expect(reactor!.record?.text).toMatch(/core's running hot/);
    expect(reactor!.record?.heard).toContain('reactor');
    expect(coolant!.record?.topic).toBe('coolant');
    expect(coolant!.record?.text).toMatch(/Loop B lost pressure/);
  }, 120_000);

  it("says it didn't catch that for a question outside its topics", async () => {
    const [weather] = await askAll(engine, alex, [speak('do you play chess', slt)]);
    expect(weather!.record).toBeDefined();
    expect(weather!.record!.topic).toBeUndefined();
    expect((alex.rehearsal as unknown as { topics: CompiledTopics }).topics.notUnderstood).toContain(weather!.record!.text);
  }, 120_000);

  it('answers a topic asked again with its next line, in order', async () => {
    const ask = speak('what should i do', slt);
    const answers = await askAll(engine, alex, [ask, ask]);
    expect(answers.map((a) => a.record?.topic)).toEqual(['what-to-do', 'what-to-do']);
    expect(answers[0]!.record!.text).toMatch(/bypass valve behind panel R-7/);
    expect(answers[1]!.record!.text).toMatch(/Pull the panel off/);
  }, 120_000);

  it('decodes while the player speaks: the answer starts no later than without recognition', async () => {
    const q = speak('how long do we have before it blows', slt);
    const [withR] = await askAll(engine, alex, [q]);
    const [without] = await askAll(plain, alex, [q]);
    expect(withR!.record?.topic).toBe('time-left');
    expect(without!.record?.topic).toBeUndefined();
    // same frame grid, same turn-taking: the recognised answer starts in the same frame as the scripted line would
    expect(withR!.framesAfterQuestion).toBeDefined();
    expect(withR!.framesAfterQuestion).toBeLessThanOrEqual(without!.framesAfterQuestion!);
  }, 120_000);

  it('a question that cuts the answer off gets the after-interruption line (its words are not decoded), and asked again, its answer', async () => {
    const id = await engine.open(alex);
    await engine.ready(id);
    const c = new Conversation(engine, id);
    const spoken = () => engine.groundTruth(id).filter((r) => r.kind !== 'backchannel' && r.startFrame >= 0);
    for (let k = 0; k < 150 && spoken().length === 0; k++) await c.silence(80); // the greeting starts …
    for (let k = 0; k < 150 && c.frame <= spoken().at(-1)!.startFrame + spoken().at(-1)!.frames + 3; k++) await c.silence(80); // … and ends
    await c.say(speak("what's going on with the reactor", slt));
    for (let k = 0; k < 40 && !spoken().some((r) => r.topic === 'reactor'); k++) await c.silence(80);
    await c.silence(600); // into the answer
    const coolant = speak('how much coolant do we have left', slt);
    const cutFrom = c.frame;
    await c.say(coolant);
    await c.silence(2400);
    const after = engine.groundTruth(id).find((r) => r.kind !== 'backchannel' && r.startFrame >= cutFrom);
    expect(c.framesWithEvent('interrupted').length).toBeGreaterThan(0);
    expect(after?.kind).toBe('afterInterruption');
    expect(after?.text).toBe(alex.rehearsal!.afterInterruption);
    expect(after?.heard).toBe('');
    for (let k = 0; k < 150 && c.frame <= after!.startFrame + after!.frames + 3; k++) await c.silence(80);
    const askedFrom = c.frame;
    await c.say(coolant);
    await c.silence(2400);
    const answer = engine.groundTruth(id).find((r) => r.kind !== 'backchannel' && r.startFrame >= askedFrom);
    expect(answer?.topic).toBe('coolant');
    await engine.close(id);
  }, 120_000);

  it('keeps the old label and behaviour with recognition off', () => {
    expect(plain.label).toMatch(/does not understand speech/);
  });

  it('a persona without topics speaks its lines; a malformed topic set is logged and ignored, never fatal', async () => {
    const [line] = await askAll(engine, CAPTAIN, [speak("what's going on with the reactor", slt)]);
    expect(CAPTAIN.rehearsal!.lines).toContain(line!.record!.text);
    expect(line!.record!.heard).toBeUndefined();

    const broken = { ...CAPTAIN, id: 'broken', rehearsal: { ...CAPTAIN.rehearsal!, topics: { jsgf: 42, topics: 'no' } } } as unknown as Persona;
    const [answer] = await askAll(engine, broken, [speak('hello there', slt)]);
    expect(CAPTAIN.rehearsal!.lines).toContain(answer!.record!.text);
  }, 120_000);

  it('compiles topics a test can hand the engine directly', async () => {
    const topics = compileTopics(
      { topics: [{ id: 'mill', asks: ['where is the old mill', "where's the mill"], answers: ['Past the bridge, on the left.'] }] },
      'Miller',
    )!;
    const persona: Persona = { ...CAPTAIN, id: 'miller', rehearsal: { ...CAPTAIN.rehearsal!, topics } as Persona['rehearsal'] };
    const [a] = await askAll(engine, persona, [speak('where is the old mill', slt)]);
    expect(a!.record?.topic).toBe('mill');
    expect(a!.record?.text).toBe('Past the bridge, on the left.');
  }, 120_000);
});
