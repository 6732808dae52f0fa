/**
 * Drives the engine through the reference runs that generate.py recorded and reports where it first departs from
 * them (tokens) and by how much its logits differ. Shared by parity.test.ts and window.test.ts.
 */
import { expect } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PersonaPlexOnnxEngine, type PersonaPlexOnnxOptions, type StepTrace } from '../../../server/engines/personaplex-onnx/engine.ts';
import type { Persona, SessionId } from '../../../server/engines/contract.ts';
import { Tokenizer } from '../../../server/persona/tokenizer.ts';
import { carriedCodes, carrierFrame, writeReferenceBundle, type BundleOptions, type RefRun, type RefTrace } from './bundle.ts';

/** fp32 torch (CPU) vs fp32 onnxruntime: largest logit difference allowed */
export const LOGIT_TOL = 1e-4;

/** Four sessions joining a batch mid-stream at ticks 0/17/40/63, runs A and B alternating; the third starts from
 * run A's persona snapshot. `n` live frames each. */
export function joiningPlan(n: number) {
  return [
    { run: 'A' as const, joinAt: 0, frames: n },
    { run: 'B' as const, joinAt: 17, frames: n },
    { run: 'A' as const, joinAt: 40, frames: n }, // from the persona snapshot
    { run: 'B' as const, joinAt: 63, frames: n },
  ];
}

export interface Divergence {
  frames: number;
  /** first frame whose tokens differ, or -1 */
  firstTokenMismatch: number;
  detail?: string;
  maxLogitDiff: number;
  /** sessions the engine re-based during the run (all sessions together) */
  rebases?: number;
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
  let rebases = 0;
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
    rebases = e.rebases;
  } finally {
    await e.dispose();
  }
  // The reference server sends the piece of every completed frame's text token except 0 (EPAD) and 3 (PAD).
  const piece = (tok: number | undefined) => (tok === undefined || tok === 0 || tok === 3 ? undefined : tokenizer.piece(tok));
  return sessions.map((s) => {
    const d = diverge(s.run, rows.get(s.id)!, s.outs, trace.meta.probe);
    const bad = s.texts.findIndex((t, i) => t !== piece(s.run.frames[i]!.out?.[0]));
    if (d.firstTokenMismatch < 0 && bad >= 0) return { ...d, rebases, firstTokenMismatch: bad, detail: `frame ${bad}, text piece: engine ${s.texts[bad]}, reference ${piece(s.run.frames[bad]!.out?.[0])}` };
    return { ...d, rebases };
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


/** A model folder for a fixture config in a temp dir (removed by `removeBundles`). */
const dirs: string[] = [];
export async function bundleFor(config: string, options: BundleOptions = {}) {
  const dir = await mkdtemp(path.join(os.tmpdir(), `pp-ref-${config}-`));
  dirs.push(dir);
  return { dir, trace: await writeReferenceBundle(config, dir, options) };
}
export async function removeBundles() {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
}

export function expectParity(results: Divergence[], frames: number[], tol = LOGIT_TOL) {
  results.forEach((r, i) => {
    expect(r.frames).toBe(frames[i]);
    expect(r.detail ?? 'same tokens').toBe('same tokens');
    expect(r.firstTokenMismatch).toBe(-1);
    expect(r.maxLogitDiff).toBeLessThan(tol);
  });
}
