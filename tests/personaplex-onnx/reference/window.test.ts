/**
 * The GQA layout's window. The reference attends to context - 1 frames (parity.test.ts proves it for the concat
 * layout). mobius' GQA exports pass local_window_size=3000 to GroupQueryAttention; this checks how many frames
 * that covers in the onnxruntime the engine runs, runs a GroupQueryAttention build of the reference model
 * (generate.py `export_gqa`) against NVIDIA's LMGen over 10× a 64-frame window with re-basing, and checks that an
 * export whose keys cannot be re-based still stops a GQA session where the window and the reference would part.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { PersonaPlexOnnxEngine } from '../../../server/engines/personaplex-onnx/engine.ts';
import { persona, tempBundle, userFrame } from '../helpers.ts';
import { FIXTURES } from './bundle.ts';
import { bundleFor, compareRuns, expectParity, joiningPlan, removeBundles } from './compare.ts';

afterAll(removeBundles);

/** Frames one query attends to when P past entries precede it, with local_window_size 8. */
async function attended(s: ort.InferenceSession, P: number): Promise<number> {
  const D = 8;
  // Keys all zero: uniform attention over what the window lets through. Values carry their position.
  const pv = new Float32Array(P * D);
  for (let j = 0; j < P; j++) pv[j * D] = j;
  const v = new Float32Array(D);
  v[0] = P;
  const zeros = (n: number, dims: number[]) => new ort.Tensor('float32', new Float32Array(n), dims);
  const r = await s.run({
    query: zeros(D, [1, 1, D]),
    key: zeros(D, [1, 1, D]),
    value: new ort.Tensor('float32', v, [1, 1, D]),
    past_key: zeros(P * D, [1, 1, P, D]),
    past_value: new ort.Tensor('float32', pv, [1, 1, P, D]),
    seqlens_k: new ort.Tensor('int32', Int32Array.of(P), [1]),
    total_sequence_length: new ort.Tensor('int32', Int32Array.of(P + 1), []),
  });
  const mean = (r.output!.data as Float32Array)[0]!; // a suffix of n positions ending at P has mean P - (n - 1) / 2
  return Math.round(2 * (P - mean) + 1);
}

describe('GroupQueryAttention local_window_size (CPU provider)', () => {
  it('covers local_window_size frames including the current one: one more than the reference would', async () => {
    const s = await ort.InferenceSession.create(path.join(FIXTURES, 'gqa-probe.onnx'));
    try {
      expect(await attended(s, 5)).toBe(6);
      expect(await attended(s, 7)).toBe(8);
      expect(await attended(s, 8)).toBe(8);
      expect(await attended(s, 20)).toBe(8);
    } finally {
      await s.release();
    }
  });
});

describe('a GroupQueryAttention build of the reference model against LMGen (context 64)', () => {
  let ref: Awaited<ReturnType<typeof bundleFor>>;
  beforeAll(async () => {
    ref = await bundleFor('ctx64', { temporal: 'gqa' });
  });

  it('640 live frames (10× the window): alone and joined mid-stream, re-based as it goes', async () => {
    const n = ref.trace.runs.A.frames.length;
    expect(n).toBeGreaterThanOrEqual(640);
    const r = await compareRuns(
      ref.trace,
      ref.dir,
      [
        { run: 'A', joinAt: 0, frames: n },
        { run: 'B', joinAt: 150, frames: n - 150 },
      ],
      { contextFrames: 64 },
    );
    expectParity(r, [n, n - 150]);
    // the cache grows to the window plus the slack (64 frames here), then drops what left the window
    expect(r[0]!.rebases).toBeGreaterThanOrEqual(9);
    console.log(`[window] GQA build, context 64 over ${n} frames: ${r[0]!.rebases} re-basings, max |logit diff| ${Math.max(...r.map((x) => x.maxLogitDiff)).toExponential(2)}`);
  }, 180_000);

  it('batch 4 with sessions joining mid-stream, all 16 depformer substeps', async () => {
    const n = 200;
    const plan = joiningPlan(n);
    const r = await compareRuns(ref.trace, ref.dir, plan, { contextFrames: 64, skipProvidedSubsteps: false });
    expectParity(r, [n, n, n, n]);
  }, 180_000);

  it('the engine finds the half-split layout and sets local_window_size to the reference window', async () => {
    const e = await PersonaPlexOnnxEngine.create({ modelDir: ref.dir, intraOpNumThreads: 1, contextFrames: 64 });
    try {
      expect(e.layout).toBe('gqa');
      expect(e.ropeLayout).toBe('halves');
      expect(e.positionLimit).toBe(256);
    } finally {
      await e.dispose();
    }
  });
});

describe('engine, GQA layout, keys that cannot be re-based', () => {
  let bundle: Awaited<ReturnType<typeof tempBundle>>;
  beforeAll(async () => {
    bundle = await tempBundle();
  });
  afterAll(async () => {
    await bundle?.cleanup();
  });

  it('ends a session before the position where local_window_size and the reference part (context - 1)', async () => {
    // The tiny bundle is a concat export that computes RoPE from position_ids (no tables, so no re-basing); forcing
    // the GQA layout only exercises the engine's bookkeeping for such an export.
    const contextFrames = 60;
    const e = await PersonaPlexOnnxEngine.create({ modelDir: bundle.dir, intraOpNumThreads: 1, kvLayout: 'gqa', contextFrames });
    try {
      const p = persona();
      const prompt = (await e.promptColumns(p, e.promptTokens(p))).columns.length;
      const id = await e.open(p);
      let live = 0;
      for (; live < contextFrames; live++) {
        const [out] = await e.step([{ session: id, input: userFrame(live) }]);
        if (out!.error) {
          expect(out!.error.message).toMatch(/context full/);
          break;
        }
      }
      // positions prompt .. prompt + live - 1 ran; the next, context - 1, would attend one frame more than the reference
      expect(prompt + live).toBe(contextFrames - 1);
    } finally {
      await e.dispose();
    }
  });
});
