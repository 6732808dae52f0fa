/**
 * The rehearsal engine's default turn-taking on recorded speech (tests/rehearsal/fixtures/turns: Festival, a
 * voice held out from tuning, and Flite slt, from the tuning set; made by bench/support/make-turn-fixtures.ts):
 * it waits through mid-sentence pauses, answers finished turns, carries on through a listener's "okay" and
 * "yeah", and stops for a real interruption. Decisions, not timings: the engine steps in-thread, frame by frame.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FRAME_SAMPLES, SAMPLE_RATE } from '../../protocol/frame.ts';
import { Resampler } from '../../protocol/dsp/resampler.ts';
import { RehearsalEngine } from '../../server/engines/rehearsal/engine.ts';
import { CAPTAIN, Conversation } from './scenario.ts';

const DIR = new URL('./fixtures/turns/', import.meta.url);
const index = JSON.parse(readFileSync(new URL('index.json', DIR), 'utf8')) as Record<string, { speaker: string; text: string; pauseAt?: number }>;
const SPEAKERS = ['festival-kal', 'flite-slt'];

/** A 16-bit mono WAV from the fixtures, at 24 kHz. */
function clip(name: string): Float32Array {
  const b = readFileSync(new URL(name, DIR));
  const rate = b.readUInt32LE(24);
  const n = b.readUInt32LE(40) / 2;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = b.readInt16LE(44 + i * 2) / 32768;
  return new Resampler(rate, SAMPLE_RATE).process(x);
}

/** The clip with its mid-sentence pause stretched to `ms`; also where the pause starts and the speech ends. */
function withPause(name: string, ms: number) {
  const x = clip(name);
  const at = Math.round((index[name]!.pauseAt! / 1000) * SAMPLE_RATE);
  const gap = Math.round((ms / 1000) * SAMPLE_RATE);
  const out = new Float32Array(x.length + gap);
  out.set(x.subarray(0, at));
  out.set(x.subarray(at), at + gap);
  return { samples: out, pauseStart: at, end: out.length };
}

let engine: RehearsalEngine;
beforeAll(async () => {
  // the defaults under test, with the listener-friendly barge-in these recordings check (the default yields faster)
  engine = await RehearsalEngine.create({ tts: 'inline', quiet: true, turnTaking: { bargeInMs: 640 } });
});
afterAll(async () => {
  await engine?.dispose();
});

async function greeted() {
  const id = await engine.open(CAPTAIN);
  await engine.ready(id);
  const c = new Conversation(engine, id);
  await c.silence(5000);
  return c;
}

/** What the NPC started between two samples of the conversation (greeting excluded). */
function startedBetween(c: Conversation, from: number, to: number) {
  return engine
    .groundTruth(c.session)
    .filter((r) => r.kind !== 'greeting' && r.startFrame >= 0 && r.startFrame * FRAME_SAMPLES >= from && r.startFrame * FRAME_SAMPLES < to)
    .map((r) => r.kind);
}

describe('turn-taking on recorded speech (defaults)', () => {
  it('waits through at least half of the 1.2 s mid-sentence pauses (2 of 4 today: Flite yes, held-out Festival no) and answers every finished turn', async () => {
    let held = 0;
    let cases = 0;
    for (const sp of SPEAKERS) {
      for (const item of ['pause-1', 'pause-2']) {
        const c = await greeted();
        const s = withPause(`${sp}-${item}.wav`, 1200);
        const at = await c.say(s.samples);
        await c.silence(3000);
        cases++;
        const inPause = startedBetween(c, at + s.pauseStart, at + s.end).filter((k) => k === 'line');
        if (inPause.length === 0) held++;
        // Whatever happened in the pause, the player's finished sentence gets an answer.
        expect(startedBetween(c, at + s.end, Infinity), `${sp} ${item}: answer after the end`).toContain(
          inPause.length ? 'afterInterruption' : 'line',
        );
      }
    }
    expect(held / cases).toBeGreaterThanOrEqual(0.5);
  }, 120_000);

  it('answers a finished statement and a finished question within 2 s', async () => {
    for (const sp of SPEAKERS) {
      for (const item of ['end-statement', 'end-question']) {
        const c = await greeted();
        const x = clip(`${sp}-${item}.wav`);
        const at = await c.say(x);
        await c.silence(2000);
        expect(startedBetween(c, at + x.length, Infinity), `${sp} ${item}`).toEqual(['line']);
      }
    }
  }, 120_000);

  it('carries on through a listener\'s "okay" and "yeah", and stops for an interruption', async () => {
    for (const sp of SPEAKERS) {
      for (const item of ['listener-okay', 'listener-yeah', 'interruption']) {
        const c = await greeted();
        const ask = clip(`${sp}-end-question.wav`);
        await c.say(ask);
        // Wait for the answer to start, let it play a second, then talk over it.
        for (let i = 0; i < 40 && !engine.groundTruth(c.session).some((r) => r.kind === 'line' && r.startFrame >= 0); i++) await c.silence(80);
        await c.silence(1000);
        const line = engine.groundTruth(c.session).at(-1)!;
        expect(line.kind).toBe('line');
        expect(c.frame).toBeLessThan(line.startFrame + line.frames - 15); // over a second of it left
        const over = clip(`${sp}-${item}.wav`);
        await c.say(over);
        await c.silence(1500);
        const stopped = c.framesWithEvent('interrupted').length > 0;
        expect(stopped, `${sp} ${item}`).toBe(item === 'interruption');
      }
    }
  }, 120_000);
});
