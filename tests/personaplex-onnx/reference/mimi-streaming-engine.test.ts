/**
 * The engine with streaming Mimi graphs in its bundle: the tiny bundle's LM (a stand-in) with the streaming
 * graphs of the reference MimiModel (mimi_streaming_fixtures.py). The loader must pick the streaming layout,
 * the user's codes must be the reference's streaming codes of what the user said, each session's decoder must
 * carry its own state. (WAV voice prompts go through mimi-stream.ts `encodeClip`, checked against the reference
 * in mimi-streaming.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { PersonaPlexOnnxEngine, type StepTrace } from '../../../server/engines/personaplex-onnx/engine.ts';
import { DecoderWindow, MimiBatch } from '../../../server/engines/personaplex-onnx/mimi-stream.ts';
import { AGENT_STREAM, MIMI_CODEBOOKS, SILENCE_TOKENS, SINE_TOKENS, USER_STREAM } from '../../../server/engines/personaplex-onnx/constants.ts';
import { persona, tempBundle } from '../helpers.ts';
import { recordingLogger } from '../../support/log.ts';
import { FIXTURES } from './bundle.ts';
import { signal, type Reference } from './mimi-fixtures.ts';

const DIR = path.join(FIXTURES, 'mimi-streaming');
const FRAME = 1920;

let bundle: Awaited<ReturnType<typeof tempBundle>>;
let ref: Reference;

beforeAll(async () => {
  bundle = await tempBundle();
  for (const g of ['mimi_encoder', 'mimi_decoder']) await copyFile(path.join(DIR, g, 'model.onnx'), path.join(bundle.dir, g, 'model.onnx'));
  ref = JSON.parse(await readFile(path.join(DIR, 'reference.json'), 'utf8')) as Reference;
});
afterAll(async () => {
  await bundle?.cleanup();
});

describe('the engine on streaming Mimi graphs', () => {
  it('logs the streaming layout; user codes are the reference streaming codes; decoders carry state per session', async () => {
    const { log, lines } = recordingLogger();
    const traces: StepTrace[][] = [];
    const e = await PersonaPlexOnnxEngine.create({ modelDir: bundle.dir, intraOpNumThreads: 1, log, onTrace: (rows) => traces.push(rows.map((r) => ({ ...r, finished: r.finished?.slice() ?? null }))) });
    expect(lines.some((l) => l.includes('mimi=streaming'))).toBe(true);
    const a = ref.signals.a;
    const b = ref.signals.b;
    const pcmA = signal(a.seconds, a.seed);
    const pcmB = signal(b.seconds, b.seed);
    const sA = await e.open(persona());
    const sB = await e.open(persona({ seed: 7 }));
    const ticks = 40;
    const outA: Float32Array[] = [];
    const outB: Float32Array[] = [];
    for (let t = 0; t < ticks; t++) {
      // B joins at tick 10.
      const batch = [{ session: sA, input: pcmA.slice(t * FRAME, (t + 1) * FRAME) }];
      if (t >= 10) batch.push({ session: sB, input: pcmB.slice((t - 10) * FRAME, (t - 9) * FRAME) });
      const out = await e.step(batch);
      outA.push(out[0]!.output);
      if (t >= 10) outB.push(out[1]!.output);
    }
    // The finished frames carry the user's codes (delays undone): first the prompt's last frame (the sine's
    // codes), then the reference's streaming codes of what the user said, in order.
    const userOf = (s: number) => traces.flatMap((rows) => rows.filter((r) => r.session === s && r.finished)).map((r) => Array.from(r.finished!.slice(USER_STREAM, USER_STREAM + MIMI_CODEBOOKS)));
    const [promptA, ...userA] = userOf(sA);
    const [promptB, ...userB] = userOf(sB);
    expect(promptA).toEqual(Array.from(SINE_TOKENS));
    expect(promptB).toEqual(Array.from(SINE_TOKENS));
    expect(userA.length).toBe(ticks - 1);
    expect(userA).toEqual(a.codes.slice(0, userA.length));
    expect(userB).toEqual(b.codes.slice(0, userB.length));

    // Each session's audio is the streaming decode of its own agent codes from a fresh state (SILENCE_TOKENS on
    // ticks without a finished frame), replayed alone.
    const dec = await ort.InferenceSession.create(path.join(DIR, 'mimi_decoder', 'model.onnx'));
    const replay = async (s: number, outs: Float32Array[]) => {
      const rows = traces.flatMap((tr) => tr.filter((r) => r.session === s));
      expect(rows.length).toBe(outs.length);
      const w = new DecoderWindow(8);
      const mb = new MimiBatch(1, 8);
      let worst = 0;
      for (let i = 0; i < rows.length; i++) {
        const f = rows[i]!.finished;
        if (f) w.push(f, AGENT_STREAM);
        else w.push(SILENCE_TOKENS);
        const o: Float32Array[] = [];
        await mb.decode(dec, [w], 1, o);
        for (let j = 0; j < FRAME; j++) worst = Math.max(worst, Math.abs(o[0]![j]! - outs[i]![j]!));
      }
      return worst;
    };
    expect(await replay(sA, outA)).toBeLessThan(1e-5);
    expect(await replay(sB, outB)).toBeLessThan(1e-5);
    await e.dispose();
  });

  it('refuses a bundle whose Mimi encoder streams and decoder does not', async () => {
    const mixed = await tempBundle();
    try {
      await copyFile(path.join(DIR, 'mimi_encoder', 'model.onnx'), path.join(mixed.dir, 'mimi_encoder', 'model.onnx'));
      await expect(PersonaPlexOnnxEngine.create({ modelDir: mixed.dir, intraOpNumThreads: 1 })).rejects.toThrow(/encoder streams \(state_in\.\*\) but the decoder does not/);
    } finally {
      await mixed.cleanup();
    }
  });
});
