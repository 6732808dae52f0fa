/**
 * The engine against NVIDIA's own PersonaPlex code. generate.py ran the reference `LMGen` (greedy) on a small
 * random-weight `LMModel` of the PersonaPlex architecture and exported that same model's step functions in the
 * mobius I/O layout; here the TypeScript engine runs those graphs on the same inputs and must give the
 * reference's tokens exactly and its logits within LOGIT_TOL, alone and in a batch that sessions join mid-stream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PersonaPlexOnnxEngine, type PersonaPlexOnnxOptions, type StepTrace } from '../../../server/engines/personaplex-onnx/engine.ts';
import type { Persona, SessionId } from '../../../server/engines/contract.ts';
import { Tokenizer } from '../../../server/persona/tokenizer.ts';
import { carriedCodes, carrierFrame, writeReferenceBundle, type RefRun, type RefTrace } from './bundle.ts';

/** fp32 torch (CPU) vs fp32 onnxruntime: largest logit difference allowed */
export const LOGIT_TOL = 1e-4;

export interface Divergence {
  frames: number;
  /** first frame whose tokens differ, or -1 */
  firstTokenMismatch: number;
  detail?: string;
  maxLogitDiff: number;
}

/** Drives sessions through the engine and compares each against its reference run. */
export async function compareRuns(
  trace: RefTrace,
  modelDir: string,
  plan: { run: 'A' | 'B'; joinAt: number; frames: number }[],
  options: Partial<PersonaPlexOnnxOptions> = {},
): Promise<Divergence[]> {
  const rows = new Map<SessionId, StepTrace[]>();
  const e = await PersonaPlexOnnxEngine.create({
    modelDir,
    intraOpNumThreads: 1,
    sampling: { textTemperature: 0, audioTemperature: 0 } as unknown as PersonaPlexOnnxOptions['sampling'],
    onTrace: (r) => r.forEach((x) => rows.get(x.session)!.push({ ...x, textLogits: x.textLogits.slice(), audioLogits: x.audioLogits.map((l) => l.slice()), audio: x.audio.slice() })),
    ...options,
  });
  const persona = (run: 'A' | 'B'): Persona => ({
    id: `ref-${run}`,
    name: run,
    textPrompt: trace.runs[run].prompt,
    voice: run === 'A' ? { kind: 'wav', path: path.join(modelDir, 'voices', 'A.wav') } : { kind: 'builtin', id: 'NATF0' },
    seed: 1,
  });
  for (const run of ['A', 'B'] as const) expect(e.promptTokens(persona(run))).toEqual(trace.runs[run].promptTokens);
  const sessions: { id: SessionId; run: RefRun; joinAt: number; frames: number; done: number; outs: Float32Array[]; texts: (string | undefined)[] }[] = [];
  const tokenizer = await Tokenizer.load(path.join(modelDir, 'tokenizer_spm_32k_3.model'));
  const end = Math.max(...plan.map((p) => p.joinAt + p.frames));
  try {
    for (let tick = 0; tick < end; tick++) {
      for (const p of plan) {
        if (p.joinAt !== tick) continue;
        const id = await e.open(persona(p.run));
        rows.set(id, []);
        sessions.push({ id, run: trace.runs[p.run], joinAt: p.joinAt, frames: p.frames, done: 0, outs: [], texts: [] });
      }
      const live = sessions.filter((s) => s.done < s.frames);
      if (!live.length) continue;
      const out = await e.step(live.map((s) => ({ session: s.id, input: carrierFrame(s.run.userCodes[s.done]!, 0.3) })));
      live.forEach((s, i) => {
        expect(out[i]!.error).toBeUndefined();
        s.outs.push(out[i]!.output);
        s.texts.push(out[i]!.text);
        s.done++;
      });
    }
  } finally {
    await e.dispose();
  }
  // The reference server sends the piece of every completed frame's text token except 0 (EPAD) and 3 (PAD).
  const piece = (tok: number | undefined) => (tok === undefined || tok === 0 || tok === 3 ? undefined : tokenizer.piece(tok));
  return sessions.map((s) => {
    const d = diverge(s.run, rows.get(s.id)!, s.outs, trace.meta.probe);
    const bad = s.texts.findIndex((t, i) => t !== piece(s.run.frames[i]!.out?.[0]));
    if (d.firstTokenMismatch < 0 && bad >= 0) return { ...d, firstTokenMismatch: bad, detail: `frame ${bad}, text piece: engine ${s.texts[bad]}, reference ${piece(s.run.frames[bad]!.out?.[0])}` };
    return d;
  });
}

function diverge(run: RefRun, got: StepTrace[], outs: Float32Array[], probe: { text: number[]; audio: number[] }): Divergence {
  let maxLogitDiff = 0;
  const logitDiff = (ref: number[], l: Float32Array, ids: number[]) => {
    let m = 0;
    let max = -Infinity;
    for (const v of l) max = Math.max(max, v);
    m = Math.abs(max - ref[1]!);
    ids.forEach((id, j) => (m = Math.max(m, Math.abs(l[id]! - ref[2 + j]!))));
    return m;
  };
  for (let t = 0; t < got.length; t++) {
    const ref = run.frames[t]!;
    const g = got[t]!;
    const tokens: [string, unknown, unknown][] = [
      ['text', g.text, ref.text[0]],
      ...ref.audio.map((a, q): [string, unknown, unknown] => [`audio ${q}`, g.audio[q], a[0]]),
      ['completed frame', g.finished ? [...g.finished] : null, ref.out],
      ['decoded agent codes', ref.out ? carriedCodes(outs[t]!) : null, ref.out ? ref.out.slice(1, 9) : null],
    ];
    const bad = tokens.find(([, a, b]) => JSON.stringify(a) !== JSON.stringify(b));
    maxLogitDiff = Math.max(maxLogitDiff, logitDiff(ref.text, g.textLogits, probe.text), ...ref.audio.map((a, q) => logitDiff(a, g.audioLogits[q]!, probe.audio)));
    if (bad) return { frames: got.length, firstTokenMismatch: t, detail: `frame ${t}, ${bad[0]}: engine ${JSON.stringify(bad[1])}, reference ${JSON.stringify(bad[2])}`, maxLogitDiff };
  }
  return { frames: got.length, firstTokenMismatch: -1, maxLogitDiff };
}

const dirs: string[] = [];
async function bundleFor(config: string) {
  const dir = await mkdtemp(path.join(os.tmpdir(), `pp-ref-${config}-`));
  dirs.push(dir);
  return { dir, trace: await writeReferenceBundle(config, dir) };
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function expectParity(results: Divergence[], frames: number[]) {
  results.forEach((r, i) => {
    expect(r.frames).toBe(frames[i]);
    expect(r.detail ?? 'same tokens').toBe('same tokens');
    expect(r.firstTokenMismatch).toBe(-1);
    expect(r.maxLogitDiff).toBeLessThan(LOGIT_TOL);
  });
}

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
    const plan = [
      { run: 'A' as const, joinAt: 0, frames: n },
      { run: 'B' as const, joinAt: 17, frames: n },
      { run: 'A' as const, joinAt: 40, frames: n }, // from the persona snapshot
      { run: 'B' as const, joinAt: 63, frames: n },
    ];
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
      { contextFrames: 64 },
    );
    expectParity(r, [n, n - 150]);
    console.log(`[parity] context 64 over ${n} frames: max |logit diff| ${Math.max(...r.map((x) => x.maxLogitDiff)).toExponential(2)}`);
  }, 180_000);

  it('the export holds rotary tables of 256 rows: without extending them a session ends cleanly there', async () => {
    expect(ref.trace.meta.ropeTableRows).toBe(256);
    const e = await PersonaPlexOnnxEngine.create({ modelDir: ref.dir, intraOpNumThreads: 1, contextFrames: 64, maxPositions: 256 });
    try {
      expect(e.positionLimit).toBe(256);
      const run = ref.trace.runs.A;
      const id = await e.open({ id: 'a', name: 'A', textPrompt: run.prompt, voice: { kind: 'wav', path: path.join(ref.dir, 'voices', 'A.wav') }, seed: 1 });
      const start = run.promptOffset - 1; // positions the prompt used
      let t = 0;
      for (; t < 300; t++) {
        const [out] = await e.step([{ session: id, input: carrierFrame(run.userCodes[t]!, 0.3) }]);
        if (out!.error) {
          expect(out!.error.message).toMatch(/position limit \(256 frames/);
          break;
        }
      }
      expect(start + t).toBe(256);
    } finally {
      await e.dispose();
    }
  });
});
