/**
 * The engine's fp16 path against NVIDIA's reference. generate.py's `fp16` config is the context-64 reference model
 * with its weights rounded to float16, run by the reference LMGen in float32 (torch 1.13 has no fp16 CPU kernels);
 * its step graphs are exported as fp16 builds (`fp16_variant`: float16 KV, hidden and logits at the edges, every
 * float intermediate rounded to float16), in the concat and the GroupQueryAttention layout. fp16 storage moves the
 * logits by a few hundredths, so the reference's user codes were chosen frame by frame to keep every greedy
 * decision at least 0.1 from a tie (meta.minTop2Gap): the tokens must be exact, the logits within FP16_TOL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PersonaPlexOnnxEngine } from '../../../server/engines/personaplex-onnx/engine.ts';
import { bundleFor, compareRuns, expectParity, joiningPlan, removeBundles } from './compare.ts';

/**
 * fp16 builds vs the float32 reference: largest logit difference allowed. Measured up to 0.065 (batch 4) on logits
 * up to ~31 (float16's step there is 0.016), about 2e-3 relative; the reference's decisions are at least 0.1 apart.
 */
const FP16_TOL = 0.08;

afterAll(removeBundles);

for (const temporal of ['concat', 'gqa'] as const) {
  describe(`fp16 ${temporal} build against the reference LMGen (context 64, fp16 weights)`, () => {
    let ref: Awaited<ReturnType<typeof bundleFor>>;
    beforeAll(async () => {
      ref = await bundleFor('fp16', { fp16: true, temporal });
    });

    it('the engine takes the fp16 path: float16 KV, hidden and logits', async () => {
      const e = await PersonaPlexOnnxEngine.create({ modelDir: ref.dir, intraOpNumThreads: 1, contextFrames: 64, ropeRows: 256 });
      try {
        const g = e.geometry;
        expect([g.temporalKvType, g.depKvType, g.hiddenType, g.textLogitsType, g.audioLogitsType]).toEqual(['float16', 'float16', 'float16', 'float16', 'float16']);
        expect(e.layout).toBe(temporal);
        expect(e.ropeLayout).toBe(temporal === 'gqa' ? 'halves' : 'interleaved');
      } finally {
        await e.dispose();
      }
    });

    // ropeRows 256: the shipped tables, so that the sessions are re-based (a concat build's default extends them)
    it('batch 1: WAV voice (A) and .pt voice (B), 320 live frames (5× the window, re-based past 256-row tables)', async () => {
      expect(ref.trace.meta.minTop2Gap).toBeGreaterThanOrEqual(0.1);
      const n = ref.trace.runs.A.frames.length;
      expect(n).toBeGreaterThanOrEqual(320);
      const a = await compareRuns(ref.trace, ref.dir, [{ run: 'A', joinAt: 0, frames: n }], { contextFrames: 64, ropeRows: 256 });
      const b = await compareRuns(ref.trace, ref.dir, [{ run: 'B', joinAt: 0, frames: n }], { contextFrames: 64, ropeRows: 256 });
      expectParity([...a, ...b], [n, n], FP16_TOL);
      expect(a[0]!.rebases).toBeGreaterThanOrEqual(1);
      console.log(
        `[fp16] ${temporal} batch 1: max |logit diff| A ${a[0]!.maxLogitDiff.toExponential(2)}, B ${b[0]!.maxLogitDiff.toExponential(2)}; reference top-1/top-2 gap ≥ ${ref.trace.meta.minTop2Gap.toFixed(3)}; ${a[0]!.rebases} re-basings`,
      );
    }, 240_000);

    it('batch 4 with sessions joining mid-stream, all 16 depformer substeps', async () => {
      const n = 200;
      const plan = joiningPlan(n);
      const r = await compareRuns(ref.trace, ref.dir, plan, { contextFrames: 64, ropeRows: 256, skipProvidedSubsteps: false });
      expectParity(r, [n, n, n, n], FP16_TOL);
      console.log(`[fp16] ${temporal} batch 4: max |logit diff| ${Math.max(...r.map((x) => x.maxLogitDiff)).toExponential(2)}`);
    }, 240_000);
  });
}
