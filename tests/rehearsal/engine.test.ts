/**
 * The rehearsal engine driven in-thread, frame by frame, with synthetic player speech (espeak WASM, a voice no
 * NPC uses). Inline TTS keeps every run identical; latencies are measured on the shared input/output timeline.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FRAME_SAMPLES, SAMPLE_RATE } from '../../protocol/frame.ts';
import type { Persona } from '../../server/engines/contract.ts';
import { RehearsalEngine, type UtteranceRecord } from '../../server/engines/rehearsal/engine.ts';
import { FADE_SAMPLES } from '../../server/engines/rehearsal/utterance.ts';
import { playerSpeech } from './audio-tools.ts';
import { CAPTAIN, Conversation } from './scenario.ts';
import { recordingLogger } from '../support/log.ts';

const ms = (samples: number) => (samples / SAMPLE_RATE) * 1000;
const R = CAPTAIN.rehearsal!;

/**
 * These tests pin the fixed-silence turn-taking (no prosody, barge-in after 96 ms of speech) whose timings they
 * assert; the prosody-driven defaults are tested in turn-end.test.ts and measured by bench/turns.bench.ts.
 */
const FIXED = { prosody: false, turnTaking: { endOfTurnMs: 500, bargeInMs: 96 } } as const;

let engine: RehearsalEngine;
beforeAll(async () => {
  engine = await RehearsalEngine.create({ tts: 'inline', quiet: true, ...FIXED });
});
afterAll(async () => {
  await engine?.dispose();
});

async function start(persona: Persona = CAPTAIN, e: RehearsalEngine = engine) {
  const id = await e.open(persona);
  await e.ready(id);
  return new Conversation(e, id);
}

/** The conversation so far, greeting done: open, stay quiet until the greeting has played out. */
async function greeted(persona: Persona = CAPTAIN, e: RehearsalEngine = engine) {
  const c = await start(persona, e);
  await c.silence(5000);
  expect(e.groundTruth(c.session).map((r) => r.kind)).toEqual(['greeting']);
  return c;
}

/** Utterances never overlap: each starts after the previous one ended or was cut off. */
function expectNoOverlap(records: UtteranceRecord[]) {
  for (let i = 1; i < records.length; i++) {
    const prev = records[i - 1]!;
    const end = prev.interruptedAt ?? prev.startFrame + prev.frames;
    expect(records[i]!.startFrame, `${records[i]!.kind} starts after ${prev.kind} ends`).toBeGreaterThanOrEqual(end);
  }
}

describe('rehearsal engine: duplex behaviour', () => {
  it('declares its contract figures', () => {
    expect(engine.name).toBe('rehearsal');
    expect(engine.textLeadFrames).toBe(0);
    expect(engine.capacity).toBeGreaterThan(0);
    // with topic recognition (the default) it says what it understands and that it is no language model
    expect(engine.label).toMatch(/recognises only its character sheet's topics/);
    expect(engine.label).toMatch(/answers only with the sheet's lines/);
    expect(engine.label).toMatch(/not a language model/);
  });

  it('greets a player who arrives when nobody is talking, then waits for them', async () => {
    const c = await start();
    await c.silence(10_000);
    const first = c.firstSound();
    expect(ms(first)).toBeGreaterThan(400);
    expect(ms(first)).toBeLessThan(800);
    expect(c.caption()).toBe(R.greeting);
    // One greeting, and no monologue after it: the NPC speaks again only after the player has.
    expect(engine.groundTruth(c.session).map((r) => r.kind)).toEqual(['greeting']);
    expect(ms(c.lastSound())).toBeLessThan(6000);
  });

  it('does not greet over a player who is already talking; greets when they stop', async () => {
    const c = await start();
    const speech = await playerSpeech(['Hello? Is anyone on this deck?', 'I was told to report here.'], { gapMs: 300 });
    const at = await c.say(speech.samples);
    const end = at + speech.spans.at(-1)!.end;
    await c.silence(4000);
    expect(c.firstSound()).toBeGreaterThan(end);
    expect(c.caption()).toBe(R.greeting);
  });

  it('takes the turn after the player stops, about endOfTurnMs later', async () => {
    const c = await greeted();
    const speech = await playerSpeech(['Captain, what is going on with the reactor?'], {});
    const at = await c.say(speech.samples);
    const end = at + speech.spans[0]!.end;
    await c.silence(6000);
    // A long turn may get a backchannel in its last pause; the answer is the line.
    const said = engine.groundTruth(c.session).at(-1)!;
    expect(said.kind).toBe('line');
    expect(R.lines).toContain(said.text);
    const latency = ms(c.firstSound(said.startFrame * FRAME_SAMPLES) - end);
    expect(latency).toBeGreaterThanOrEqual(500);
    expect(latency).toBeLessThan(800);
    expect(c.caption(said.startFrame)).toBe(said.text);
  });

  it('end-of-turn silence is tunable', async () => {
    const slow = await RehearsalEngine.create({ tts: 'inline', quiet: true, ...FIXED, turnTaking: { ...FIXED.turnTaking, endOfTurnMs: 1200 } });
    try {
      const c = await greeted(CAPTAIN, slow);
      const speech = await playerSpeech(['Captain, what is going on with the reactor?'], {});
      const end = (await c.say(speech.samples)) + speech.spans[0]!.end;
      await c.silence(6000);
      const said = slow.groundTruth(c.session).at(-1)!;
      expect(said.kind).toBe('line');
      const latency = ms(c.firstSound(said.startFrame * FRAME_SAMPLES) - end);
      expect(latency).toBeGreaterThanOrEqual(1200);
      expect(latency).toBeLessThan(1500);
    } finally {
      await slow.dispose();
    }
  });

  it('stops within 200 ms when the player talks over it, reports interrupted, then says its after-interruption line', async () => {
    const c = await greeted();
    const ask = await playerSpeech(['Captain, what is going on with the reactor?'], {});
    await c.say(ask.samples);
    // Wait until the answer has been playing for a second, then barge in.
    const answering = () => engine.groundTruth(c.session).find((r) => r.kind === 'line' && r.startFrame >= 0);
    for (let i = 0; i < 50 && !answering(); i++) await c.silence(80);
    await c.silence(1000);
    const line = engine.groundTruth(c.session).at(-1)!;
    expect(line.kind).toBe('line');
    expect(c.frame).toBeLessThan(line.startFrame + line.frames); // still talking
    const cut = await playerSpeech(['Wait, wait, stop right there, I have a question.'], {});
    const onset = await c.say(cut.samples);
    const cutEnd = onset + cut.spans[0]!.end;
    await c.silence(3000);

    const events = c.framesWithEvent('interrupted');
    expect(events).toHaveLength(1);
    // The stop the player hears: the pause at the first sign of their voice, which the barge-in confirmed once the
    // voice was long enough (and its words no backchannel); `endFrame` is where the line's audio ended.
    const cutRecord = engine.groundTruth(c.session).find((r) => r.interruptedAt === events[0])!;
    expect(cutRecord.endFrame).toBeLessThanOrEqual(events[0]!);
    const stop = cutRecord.endFrame! * FRAME_SAMPLES;
    expect(ms(stop - onset)).toBeLessThanOrEqual(200);
    expect(stop).toBeGreaterThanOrEqual(onset); // it heard speech before yielding: no false start
    // Silent from the end of the fade until the player has finished and the turn passes back.
    const resumed = c.firstSound(stop + FADE_SAMPLES);
    expect(resumed).toBeGreaterThan(cutEnd);
    const records = engine.groundTruth(c.session);
    const cutAt = records.findIndex((r) => r.interruptedAt !== undefined);
    expect(records[cutAt]).toMatchObject({ kind: 'line', interruptedAt: events[0] });
    // After it: perhaps backchannels while the player holds the floor, then the after-interruption line.
    const next = records.slice(cutAt + 1).filter((r) => r.kind !== 'backchannel');
    expect(next.map((r) => r.kind)).toEqual(['afterInterruption']);
    expect(next[0]!.startFrame * FRAME_SAMPLES).toBeGreaterThan(cutEnd);
    expect(c.caption(next[0]!.startFrame)).toBe(R.afterInterruption);
    expectNoOverlap(records);
  });

  it('backchannels during a long player turn without taking the turn', async () => {
    const c = await greeted();
    const speech = await playerSpeech(
      [
        'So I came up from the lower decks this morning.',
        'The lights were flickering in every corridor.',
        'Then the pressure alarms went off near the reactor.',
        'Nobody down there knew what to do about it.',
      ],
      { gapMs: 300 },
    );
    const onset = await c.say(speech.samples);
    const end = onset + speech.spans.at(-1)!.end;
    await c.silence(6000);
    const records = engine.groundTruth(c.session).slice(1);
    const during = records.filter((r) => r.startFrame * FRAME_SAMPLES < end);
    expect(during.length).toBeGreaterThanOrEqual(1);
    for (const r of during) {
      expect(r.kind).toBe('backchannel');
      expect(R.backchannels).toContain(r.text);
    }
    // Backchannels fall in the player's pauses, never as their first word.
    for (const r of during) expect(r.startFrame * FRAME_SAMPLES).toBeGreaterThan(onset + speech.spans[0]!.end);
    expect(c.framesWithEvent('interrupted')).toEqual([]);
    // The turn itself comes after the player has finished (perhaps after a backchannel in the last pause).
    const after = records.filter((r) => r.startFrame * FRAME_SAMPLES >= end).map((r) => r.kind);
    expect(after.filter((k) => k !== 'backchannel')).toEqual(['line']);
    expect(after.length).toBeLessThanOrEqual(2);
    expectNoOverlap(engine.groundTruth(c.session));
  });

  it('a short sound while it talks is not a barge-in', async () => {
    const c = await greeted();
    const ask = await playerSpeech(['Captain, what is going on with the reactor?'], {});
    await c.say(ask.samples);
    await c.silence(1500);
    const cough = new Float32Array(FRAME_SAMPLES / 4); // a 20 ms click of noise
    for (let i = 0; i < cough.length; i++) cough[i] = Math.sin(i * 1.7) * 0.6;
    await c.say(cough);
    await c.silence(6000);
    expect(c.framesWithEvent('interrupted')).toEqual([]);
    const line = engine.groundTruth(c.session).at(-1)!;
    expect(line.kind).toBe('line');
    expect(line.interruptedAt).toBeUndefined();
  });
});

describe('rehearsal engine: text pieces and phonemes', () => {
  it('sends each word once, in order, in the frame where its audio starts (or the next free frame)', async () => {
    const c = await start();
    await c.silence(6000);
    const [greeting] = engine.groundTruth(c.session);
    expect(c.pieces.map((p) => p.piece)).toEqual(greeting!.words.map((w) => w.piece));
    for (const w of greeting!.words) {
      expect(c.pieces.find((p) => p.piece === w.piece && p.frame === w.absoluteFrame)).toBeTruthy();
      // On time, or delayed only because the frame before it already carries a piece.
      expect(w.absoluteFrame).toBeGreaterThanOrEqual(w.absoluteOnsetFrame);
      if (w.absoluteFrame > w.absoluteOnsetFrame) expect(c.pieces.some((p) => p.frame === w.absoluteFrame - 1)).toBe(true);
    }
  });

  it('pieces land within one frame of the word onsets heard in the audio', async () => {
    // Words set apart by sentence pauses, so each onset can be found in the audio alone.
    const counting: Persona = { ...CAPTAIN, id: 'counter', rehearsal: { ...R, greeting: 'One. Two. Three. Four. Five.' } };
    const c = await start(counting);
    await c.silence(8000);
    const v = c.voice;
    const onsets: number[] = [];
    let quiet = Infinity;
    for (let i = 0; i < v.length; i++) {
      if (Math.abs(v[i]!) > 0.02) {
        if (quiet > 0.1 * SAMPLE_RATE) onsets.push(i);
        quiet = 0;
      } else quiet++;
    }
    expect(onsets).toHaveLength(5);
    expect(c.pieces.map((p) => p.piece)).toEqual(['▁One.', '▁Two.', '▁Three.', '▁Four.', '▁Five.']);
    c.pieces.forEach((p, i) => expect(Math.abs(p.frame - Math.floor(onsets[i]! / FRAME_SAMPLES))).toBeLessThanOrEqual(1));
  });

  it('reports the TTS phonemes starting in each frame, inside the frame, as lip-sync ground truth', async () => {
    const c = await start();
    await c.silence(6000);
    const phonemes = c.outputs.flatMap((o, f) => (o.phonemes ?? []).map((p) => ({ ...p, at: f * FRAME_SAMPLES + p.offset })));
    expect(phonemes.length).toBeGreaterThan(20);
    for (const p of phonemes) {
      expect(p.offset).toBeGreaterThanOrEqual(0);
      expect(p.offset).toBeLessThan(FRAME_SAMPLES);
      expect(p.ipa.length).toBeGreaterThan(0);
    }
    for (let i = 1; i < phonemes.length; i++) expect(phonemes[i]!.at).toBeGreaterThanOrEqual(phonemes[i - 1]!.at);
    // The first phoneme starts where the sound does (espeak's own timing, within 40 ms).
    expect(Math.abs(ms(phonemes[0]!.at - c.firstSound(0, 0.005)))).toBeLessThan(40);
    // A sounding phoneme is where the audio is: each vowel's first 20 ms carries signal.
    const v = c.voice;
    for (const p of phonemes.filter((x) => /[aeiouɑɛɪʊʌəɔæ]/.test(x.ipa))) {
      let peak = 0;
      for (let i = p.at; i < p.at + 480; i++) peak = Math.max(peak, Math.abs(v[i] ?? 0));
      expect(peak, `vowel ${p.ipa} at ${ms(p.at).toFixed(0)} ms`).toBeGreaterThan(0.02);
    }
  });
});

describe('rehearsal engine: bad input, long runs, determinism', () => {
  it('treats NaN and infinite samples as silence and keeps listening', async () => {
    const c = await start();
    const nan = Array.from({ length: 10 }, () => new Float32Array(FRAME_SAMPLES).fill(NaN));
    const inf = Array.from({ length: 10 }, () => new Float32Array(FRAME_SAMPLES).map((_, i) => (i % 2 ? Infinity : -Infinity)));
    await c.feed([...nan, ...inf]);
    await c.silence(4000);
    for (const o of c.outputs) {
      expect(o.error).toBeUndefined();
      expect(o.output.every(Number.isFinite)).toBe(true);
    }
    expect(c.caption()).toBe(R.greeting);
    // The VAD was not poisoned: speech is still heard and answered.
    const speech = await playerSpeech(['Captain, what is going on with the reactor?'], {});
    await c.say(speech.samples);
    await c.silence(3000);
    expect(engine.groundTruth(c.session).at(-1)!.kind).toBe('line');
  });

  it('hears clipped, overdriven speech as speech', async () => {
    const c = await greeted();
    const loud = await playerSpeech(['Captain, what is going on with the reactor?'], { gain: 40 });
    await c.say(loud.samples);
    await c.silence(3000);
    expect(engine.groundTruth(c.session).at(-1)!.kind).toBe('line');
  });

  it('does not take steady noise or a tone for a player', async () => {
    const c = await greeted();
    const noise = new Float32Array(SAMPLE_RATE * 3);
    let seed = 1;
    for (let i = 0; i < noise.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      noise[i] = ((seed / 2 ** 32) * 2 - 1) * 0.1;
    }
    const tone = new Float32Array(SAMPLE_RATE * 3).map((_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / SAMPLE_RATE));
    await c.say(noise);
    await c.say(tone);
    await c.silence(3000);
    expect(engine.groundTruth(c.session).map((r) => r.kind)).toEqual(['greeting']);
  });

  it('rejects malformed frames for that session only', async () => {
    const a = await engine.open(CAPTAIN);
    const b = await engine.open(CAPTAIN);
    const out = await engine.step([
      { session: a, input: new Float32Array(100) },
      { session: b, input: new Float32Array(FRAME_SAMPLES) },
      { session: a, input: [1, 2, 3] as unknown as Float32Array },
      { session: 99_999, input: new Float32Array(FRAME_SAMPLES) },
    ]);
    expect(out[0]!.error?.message).toMatch(/1920 samples, got 100/);
    expect(out[1]!.error).toBeUndefined();
    expect(out[2]!.error?.message).toMatch(/Float32Array/);
    expect(out[3]!.error?.message).toMatch(/unknown session/);
    expect(out.map((o) => o.error?.kind)).toEqual(['rejected', undefined, 'rejected', 'rejected']);
    for (const o of out) expect(o.output).toHaveLength(FRAME_SAMPLES);
    await engine.close(a);
    await engine.close(b);
  });

  it('stays quiet through three minutes of silence, then still answers', async () => {
    const c = await greeted();
    const before = c.frame;
    await c.silence(180_000);
    expect(c.outputs.slice(before).every((o) => !o.text && !o.error && !o.events)).toBe(true);
    expect(c.firstSound(before * FRAME_SAMPLES)).toBe(-1);
    const speech = await playerSpeech(['Are you still there, captain?'], {});
    await c.say(speech.samples);
    await c.silence(3000);
    expect(engine.groundTruth(c.session).at(-1)!.kind).toBe('line');
  });

  it('is deterministic: same seed and input, same output', async () => {
    const speech = await playerSpeech(['Captain, what is going on with the reactor?', 'And what should I do?'], { gapMs: 700 });
    async function run() {
      const c = await start();
      await c.silence(3000);
      await c.say(speech.samples);
      await c.silence(4000);
      await c.say(speech.samples);
      await c.silence(4000);
      return c;
    }
    const [x, y] = [await run(), await run()];
    expect(y.pieces).toEqual(x.pieces);
    expect(y.voice).toEqual(x.voice);
    expect(y.outputs.map((o) => o.phonemes ?? null)).toEqual(x.outputs.map((o) => o.phonemes ?? null));
  });

  it('speaks generic lines when the sheet has none, and tells a WAV voice it cannot clone', async () => {
    const { log, lines } = recordingLogger();
    const e = await RehearsalEngine.create({ tts: 'inline' }, log);
    try {
      const c = await start({ id: 'stranger', name: 'Mira', textPrompt: '', voice: { kind: 'wav', path: 'voices/mira.wav' } }, e);
      await c.silence(4000);
      expect(c.caption()).toBe("Hello there. I'm Mira.");
      expect(lines.join('\n')).toMatch(/persona=stranger rehearsal engine cannot clone voices: voices\/mira\.wav/);
    } finally {
      await e.dispose();
    }
  });
});
