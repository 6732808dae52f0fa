/**
 * The recogniser with its real decoders (soundswallower), below the engine: TurnListeners fed questions spoken by
 * Flite (a stand-in for players) frame by frame, with the VAD's counters taken from where the speech really is.
 * Decoders stay on their sheet's grammar, a sheet's sessions share them, a decoder is given back once its player
 * has gone quiet, and a turn dropped (a barge-in) frees its decoder at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FRAME_SAMPLES, SAMPLE_RATE } from '../../protocol/frame.ts';
import type { Persona } from '../../server/engines/contract.ts';
import { TopicRecognizer, speechOnset, type TurnListener } from '../../server/engines/rehearsal/recognizer.ts';
import { matchTopic, type CompiledTopics } from '../../server/engines/rehearsal/topic-matcher.ts';
import { compileSheetFile } from '../../server/sheets/compile.ts';
import { estimateCounter } from '../../server/persona/tokens.ts';
import { recordingLogger } from '../support/log.ts';
import { speak, SPEAKERS } from './spoken-questions.ts';

const topicsOf = (name: string): CompiledTopics => {
  const persona: Persona = compileSheetFile(new URL(`../../character-sheets/${name}.yaml`, import.meta.url).pathname, { counter: estimateCounter }).sheet!.persona;
  return (persona.rehearsal as unknown as { topics: CompiledTopics }).topics;
};
const alex = topicsOf('alex');
const okafor = topicsOf('okafor');
const slt = SPEAKERS.find((s) => s.label === 'flite:slt')!;

/** A player's track: quiet, the speech, quiet; per 80 ms frame, the VAD's counters as if it heard exactly that. */
function track(parts: (Float32Array | number)[]) {
  const pieces = parts.map((p) => (typeof p === 'number' ? new Float32Array(Math.round((p / 1000) * SAMPLE_RATE)) : p));
  const speech: boolean[] = [];
  for (const p of pieces) for (let i = 0; i < p.length; i++) speech.push(typeof parts[pieces.indexOf(p)] !== 'number');
  const all = new Float32Array(speech.length);
  let o = 0;
  for (const p of pieces) (all.set(p, o), (o += p.length));
  const frames: { frame: Float32Array; speechMs: number; silenceMs: number }[] = [];
  let speechMs = 0;
  let silenceMs = 0;
  for (let s = 0; s + FRAME_SAMPLES <= all.length; s += FRAME_SAMPLES) {
    const voiced = speech.slice(s, s + FRAME_SAMPLES).some((v) => v);
    speechMs = voiced ? speechMs + 80 : 0;
    silenceMs = voiced ? 0 : silenceMs + 80;
    frames.push({ frame: all.subarray(s, s + FRAME_SAMPLES), speechMs, silenceMs });
  }
  return frames;
}

/** Lets the recogniser's idle pump run (it decodes between steps, one slice per macrotask). */
async function idle(turns = 40) {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}

/** Feeds tracks to listeners side by side, a frame each per step with idle time between, then ends each turn. */
async function hear(pairs: [TurnListener, ReturnType<typeof track>][]) {
  const n = Math.max(...pairs.map(([, t]) => t.length));
  for (let k = 0; k < n; k++) {
    for (const [l, t] of pairs) {
      const f = t[Math.min(k, t.length - 1)]!;
      l.push(f.frame, { speechMs: k < t.length ? f.speechMs : 0, silenceMs: k < t.length ? f.silenceMs : f.silenceMs + 80 * (k - t.length + 1) });
    }
    await idle();
  }
  return pairs.map(([l]) => l.finish());
}

let recognizer: TopicRecognizer;
const rec = recordingLogger();
beforeAll(async () => {
  recognizer = await TopicRecognizer.create({ decoders: 2 }, rec.log);
}, 60_000);
afterAll(() => recognizer?.dispose());

describe('recognition: decoders per sheet', () => {
  const reactor = speak("what's going on with the reactor", slt);
  const radiation = speak('how much radiation did i get', slt);

  it('two sessions of different sheets, talking at once, each recognise their own topics on their own decoder', async () => {
    const a = recognizer.listen(alex);
    const o = recognizer.listen(okafor);
    await recognizer.prepare(a.grammar);
    await recognizer.prepare(o.grammar);
    expect(recognizer.pinnedTo(a.grammar)).toBe(1);
    expect(recognizer.pinnedTo(o.grammar)).toBe(1);
    const [wa, wo] = await hear([
      [a, track([600, reactor, 700])],
      [o, track([300, radiation, 1000])],
    ]);
    expect(matchTopic(alex, wa!)?.id).toBe('reactor');
    expect(matchTopic(okafor, wo!)?.id).toBe('radiation');
    expect(recognizer.switches).toBe(0);
    a.close();
    o.close();
  }, 60_000);

  it("sessions of the same sheet share its decoder: a turn takes it once the other player has gone quiet, and the grammar is never switched", async () => {
    const a1 = recognizer.listen(alex);
    const a2 = recognizer.listen(alex);
    const o = recognizer.listen(okafor);
    const switches = recognizer.switches;
    const logged = rec.lines.length;
    // a2 starts while a1 still talks; Alex's one decoder serves a1, then a2 (the other decoder is Okafor's)
    const [w1, w2] = await hear([
      [a1, track([200, reactor, 2500])],
      [a2, track([900, speak('how much coolant is left', slt), 900])],
    ]);
    expect(matchTopic(alex, w1!)?.id).toBe('reactor');
    expect(matchTopic(alex, w2!)?.id).toBe('coolant');
    expect(recognizer.pinnedTo(a1.grammar)).toBe(1);
    expect(recognizer.switches).toBe(switches);
    const turns = rec.lines.slice(logged).filter((l) => l.endsWith('turn decoded'));
    // a1's utterance closed early (its player went quiet), which is what let a2 have the decoder before a1's turn ended
    expect(turns[0]).toContain('closedEarly=true');
    expect(turns.every((l) => l.includes('decoded=true'))).toBe(true);
    for (const l of [a1, a2, o]) l.close();
  }, 60_000);

  it('speech after an early close decodes the whole turn again', async () => {
    const a = recognizer.listen(alex);
    const logged = rec.lines.length;
    // "alex" … a pause long enough to close the utterance … "what's going on with the reactor"
    const [w] = await hear([[a, track([400, speak('alex', slt), 700, reactor, 700])]]);
    expect(matchTopic(alex, w!)?.id).toBe('reactor');
    expect(w![0]).toBe('alex');
    expect(rec.lines.slice(logged).find((l) => l.endsWith('turn decoded'))).toContain('redecodes=1');
    a.close();
  }, 60_000);

  it("a dropped turn (a barge-in) gives its decoder back at once and returns no words", async () => {
    const a1 = recognizer.listen(alex);
    const a2 = recognizer.listen(alex);
    const t1 = track([200, reactor, 2000]);
    const t2 = track([200, speak('how much coolant is left', slt), 900]);
    // a1 talks first and holds Alex's decoder; a2 starts too; a1 is dropped a few frames in
    for (let k = 0; k < t2.length; k++) {
      const f1 = t1[Math.min(k, t1.length - 1)]!;
      a1.push(f1.frame, f1);
      if (k === 8) a1.drop();
      a2.push(t2[k]!.frame, t2[k]!);
      await idle();
    }
    expect(a1.finish()).toEqual([]);
    expect(matchTopic(alex, a2.finish())?.id).toBe('coolant');
    a1.close();
    a2.close();
  }, 60_000);
});

describe('recognition: pre-roll', () => {
  it('starts the pre-roll 600 ms of quiet before the speech onset, and keeps it whole when it has no quiet', () => {
    const x = new Float32Array(16_000);
    for (let i = 12_000; i < 16_000; i++) x[i] = 0.2 * Math.sin(i / 5);
    // a soft onset (−26 dB under the speech) just before the loud part counts as speech
    for (let i = 11_200; i < 12_000; i++) x[i] = 0.01 * Math.sin(i / 3);
    expect(speechOnset(x, 600)).toBe(11_200 - 9_600);
    const noisy = Float32Array.from({ length: 16_000 }, (_, i) => 0.1 * Math.sin(i * 1.3));
    expect(speechOnset(noisy, 600)).toBe(0);
  });
});
