/**
 * The engine against NVIDIA's own PersonaPlex code. generate.py ran the reference `LMGen` (greedy) on a small
 * random-weight `LMModel` of the PersonaPlex architecture and exported that same model's step functions in the
 * mobius I/O layout; here the TypeScript engine runs those graphs on the same inputs and must give the
 * reference's tokens exactly and its logits within LOGIT_TOL, alone and in a batch that sessions join mid-stream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { PersonaPlexOnnxEngine, type PersonaPlexOnnxOptions, type StepTrace } from '../../../server/engines/personaplex-onnx/engine.ts';
import { carrierFrame } from './bundle.ts';
import { LOGIT_TOL, bundleFor, compareRuns, expectParity, joiningPlan, removeBundles } from './compare.ts';

afterAll(removeBundles);

/** re-based vs unre-based positions far past the table (every logit, positions to ~2,600): see the test */
const FAR_TOL = 4e-4;

describe('parity with the reference LMGen (3000-frame context)', () => {
  let ref: Awaited<ReturnType<typeof bundleFor>>;
  beforeAll(async () => {
    ref = await bundleFor('ctx3000');
  });

  it('batch 1: WAV voice (A) and .pt voice (B), prompt phase then 240 live frames', async () => {
    const n = ref.trace.runs.A.frames.length;
    expect(n).toBeGreaterThanOrEqual(200);
    const a = await compareRuns(ref.trace, ref.dir, [{ run: 'A', joinAt: 0, frames: n }]);
    const b = await compareRuns(ref.trace, ref.dir, [{ run: 'B', joinAt: 0, frames: n }]);
    expectParity([...a, ...b], [n, n]);
    console.log(`[parity] batch 1: max |logit diff| A ${a[0]!.maxLogitDiff.toExponential(2)}, B ${b[0]!.maxLogitDiff.toExponential(2)}; reference top-1/top-2 gap ≥ ${ref.trace.meta.minTop2Gap.toExponential(2)}`);
  }, 120_000);

  it('batch 4 with sessions joining mid-stream, all 16 depformer substeps', async () => {
    const n = 120;
    const plan = joiningPlan(n);
    const r = await compareRuns(ref.trace, ref.dir, plan, { skipProvidedSubsteps: false });
    expectParity(r, [n, n, n, n]);
    console.log(`[parity] batch 4: max |logit diff| ${Math.max(...r.map((x) => x.maxLogitDiff)).toExponential(2)}`);
  }, 120_000);

  it('batch 2 with the selection on the provider (ONNX TopK post-graph, issue 17) gives the same tokens', async () => {
    const n = 80;
    const plan = [
      { run: 'A' as const, joinAt: 0, frames: n },
      { run: 'B' as const, joinAt: 9, frames: n },
    ];
    const r = await compareRuns(ref.trace, ref.dir, plan, { selection: 'device' });
    expectParity(r, [n, n]);
  }, 120_000);
});

describe('parity over 10× a 64-frame context (sliding window and positions)', () => {
  let ref: Awaited<ReturnType<typeof bundleFor>>;
  beforeAll(async () => {
    ref = await bundleFor('ctx64');
  });

  it('a reference model with context 64: 640 live frames, alone and joined mid-stream', async () => {
    expect(ref.trace.meta.config.context).toBe(64);
    const n = ref.trace.runs.A.frames.length;
    expect(n).toBeGreaterThanOrEqual(640);
    const r = await compareRuns(
      ref.trace,
      ref.dir,
      [
        { run: 'A', joinAt: 0, frames: n },
        { run: 'B', joinAt: 150, frames: n - 150 },
      ],
      // the shipped 256-row tables (a concat build's default extends them to 45,000 rows)
      { contextFrames: 64, ropeRows: 256 },
    );
    expectParity(r, [n, n - 150]);
    // The tables hold 256 rows (less than the prompt plus 640 frames): the sessions were re-based on the way.
    expect(r[0]!.rebases).toBeGreaterThanOrEqual(3);
    console.log(`[parity] context 64 over ${n} frames: max |logit diff| ${Math.max(...r.map((x) => x.maxLogitDiff)).toExponential(2)}`);
  }, 180_000);

  it('the export holds rotary tables of 256 rows: sessions are re-based and go on far past them, as with tables long enough', async () => {
    // 2,600 live frames (10× the table, 40× the window) with the re-basing engine (tables of 256 rows) and with an
    // engine whose tables were extended to 3,000 rows (never re-bases; the extension itself is proven against the
    // reference above and in the 256-row run). Same inputs: tokens must be equal and logits within LOGIT_TOL.
    expect(ref.trace.meta.ropeTableRows).toBe(256);
    const frames = 2600;
    const run = ref.trace.runs.A;
    const drive = async (ropeRows?: number) => {
      const rows: StepTrace[] = [];
      const e = await PersonaPlexOnnxEngine.create({
        modelDir: ref.dir,
        intraOpNumThreads: 1,
        contextFrames: 64,
        ropeRows,
        sampling: { textTemperature: 0, audioTemperature: 0 } as unknown as PersonaPlexOnnxOptions['sampling'],
        onTrace: (r) => rows.push({ ...r[0]!, textLogits: r[0]!.textLogits.slice(), audioLogits: r[0]!.audioLogits.map((l) => l.slice()) }),
      });
      try {
        const id = await e.open({ id: 'a', name: 'A', textPrompt: run.prompt, voice: { kind: 'wav', path: path.join(ref.dir, 'voices', 'A.wav') }, seed: 1 });
        for (let t = 0; t < frames; t++) {
          const [out] = await e.step([{ session: id, input: carrierFrame(run.userCodes[t % run.userCodes.length]!, 0.3) }]);
          expect(out!.error).toBeUndefined();
        }
        return { rows, rebases: e.rebases, limit: e.positionLimit, layout: e.ropeLayout };
      } finally {
        await e.dispose();
      }
    };
    const rebased = await drive(256);
    const long = await drive(3000);
    expect(rebased.limit).toBe(256);
    expect(rebased.layout).toBe('interleaved'); // the reference's own rotary layout (mobius exports use halves)
    expect(rebased.rebases).toBeGreaterThanOrEqual(12);
    expect(long.limit).toBe(3000);
    expect(long.rebases).toBe(0);
    // by default a concat build's tables are extended to 45,000 rows (1 hour): it re-bases about once an hour
    const byDefault = await PersonaPlexOnnxEngine.create({ modelDir: ref.dir, intraOpNumThreads: 1, contextFrames: 64 });
    expect(byDefault.positionLimit).toBe(45_000);
    await byDefault.dispose();
    let worst = 0;
    for (let t = 0; t < frames; t++) {
      const a = rebased.rows[t]!;
      const b = long.rows[t]!;
      expect([a.text, ...a.audio.subarray(0, 8)], `frame ${t}`).toEqual([b.text, ...b.audio.subarray(0, 8)]);
      for (const [x, y] of [[a.textLogits, b.textLogits] as const, ...a.audioLogits.map((l, q) => [l, b.audioLogits[q]!] as const)]) {
        for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
      }
    }
    // Not LOGIT_TOL: the unre-based run's float32 angles at positions up to ~2,600 carry up to 2,600 · 2^-24 rad of
    // rounding each (the reference's own torch angles have the same), which the re-based run's (< 256) do not.
    // Over all 48,384 logits of a frame (not just max and probes). Measured 1.3e-4.
    expect(worst).toBeLessThan(FAR_TOL);
    console.log(`[parity] context 64, ${frames} frames: ${rebased.rebases} re-basings; max |logit diff| against unre-based positions ${worst.toExponential(2)}`);
  }, 300_000);
});
