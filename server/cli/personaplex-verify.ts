/**
 * `parley personaplex verify --onnx-dir DIR [--golden-dir DIR] [--provider cpu|cuda|webgpu]`: a parity
 * self-check of a mobius PersonaPlex export against mobius' published goldens
 * (`testdata/golden/audio/moshi-lm-personaplex.json` and `mimi-personaplex.json` in onnxruntime/mobius). It
 * rebuilds the goldens' deterministic inputs (numpy RandomState seeds 20240607, 7 and 1234, as mobius' tests do),
 * runs them through the export the way mobius' tests do, and compares:
 * - temporal: the text argmax of each of the 4 steps exactly, and the maxima and the hidden slices within a tolerance;
 * - depformer: 16 teacher-forced substeps, the argmax of each exactly, and the maxima and the first logits;
 * - Mimi: the encoder's codes exactly, and the decoder's first and last 32 samples.
 * Prints PASS, or every check that differs, with its values.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { UsageError, parseArgs } from './args.ts';
import type { Io } from './sheets.ts';
import { LegacyRandomState } from './numpy-random.ts';
import { loadGraphs, type Geometry, type Provider } from '../engines/personaplex-onnx/graphs.ts';
import { halfArrayToFloat } from '../engines/personaplex-onnx/half.ts';
import { kvNames } from '../engines/personaplex-onnx/temporal-kv.ts';

export const VERIFY_USAGE = `  parley personaplex verify --onnx-dir <dir> [--golden-dir <dir>] [--provider cpu|cuda|webgpu]
      run mobius' parity goldens (moshi-lm-personaplex.json, mimi-personaplex.json from onnxruntime/mobius
      testdata/golden/audio; default <onnx-dir>/golden) through the export and say what differs`;

interface LmGolden {
  n_steps: number;
  dep_q: number;
  temporal: { hidden_last_head_hex: string[]; hidden_last_tail_hex: string[]; text_argmax: number[]; text_max_hex: string[] };
  depformer: { logits_argmax: number[]; logits_max_hex: string[]; logits0_head_hex: string[] };
}

interface MimiGolden {
  n_frames: number;
  codes: number[][];
  dec_head_hex: string[];
  dec_tail_hex: string[];
}

/** Python's float.hex() text ("-0x1.5c8b26p+1", "0x0.0p+0") as a number. */
export function parseHexFloat(s: string): number {
  const m = /^(-)?0x([01])\.?([0-9a-f]*)p([+-]\d+)$/i.exec(s.trim());
  if (!m) throw new Error(`not a hex float: ${s}`);
  const frac = m[3] ? parseInt(m[3], 16) / 16 ** m[3].length : 0;
  const v = (Number(m[2]) + frac) * 2 ** Number(m[4]);
  return m[1] ? -v : v;
}

/** The goldens' inputs, as mobius' tests build them. */
export function goldenInputs(steps = 4, depQ = 16, frames = 8) {
  let r = new LegacyRandomState(20240607);
  const text = Array.from({ length: steps }, () => r.randint(0, 32000));
  const audio = Array.from({ length: 16 * steps }, () => r.randint(0, 2048));
  const frame = new BigInt64Array(17 * steps);
  for (let s = 0; s < steps; s++) frame[s] = BigInt(text[s]!);
  audio.forEach((v, i) => (frame[steps + i] = BigInt(v))); // row-major [16, steps] after the text row
  r = new LegacyRandomState(7);
  const prev = [r.randint(0, 32000), ...Array.from({ length: depQ - 1 }, () => r.randint(0, 2048))];
  const n = frames * 1920;
  r = new LegacyRandomState(1234);
  const wave = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / 24000;
    const h = 0.5 * Math.sin(2 * Math.PI * 220 * t) + 0.3 * Math.sin(2 * Math.PI * 440 * t) + 0.2 * Math.sin(2 * Math.PI * 660 * t) + 0.1 * Math.sin(2 * Math.PI * 1320 * t);
    wave[i] = h + 0.02 * r.standardNormal();
  }
  return { frame, prev, wave };
}

class Report {
  lines: string[] = [];
  failures = 0;

  /** informational: a difference is reported as a note, not a failure */
  info = false;

  private mark(ok: boolean) {
    if (ok) return 'ok  ';
    if (this.info) return 'note';
    this.failures++;
    return 'DIFF';
  }

  exact(what: string, got: number[], want: number[]) {
    const ok = got.length === want.length && got.every((v, i) => v === want[i]);
    this.lines.push(`${this.mark(ok)} ${what}${ok ? '' : `: got ${JSON.stringify(got)}, golden ${JSON.stringify(want)}`}`);
  }

  close(what: string, got: ArrayLike<number>, want: number[], tol: number) {
    let worst = 0;
    let at = 0;
    for (let i = 0; i < want.length; i++) {
      const d = Math.abs(got[i]! - want[i]!);
      if (!(d <= worst)) [worst, at] = [d, i];
    }
    const ok = worst <= tol;
    this.lines.push(`${this.mark(ok)} ${what}: max |diff| ${worst.toExponential(2)} (tolerance ${tol})${ok ? '' : ` at [${at}]: got ${got[at]}, golden ${want[at]}`}`);
  }
}

const floats = (t: ort.Tensor): Float32Array => (t.type === 'float16' ? halfArrayToFloat(t.data as Uint16Array) : (t.data as Float32Array));

function emptyPast(names: string[], type: Geometry['temporalKvType'], heads: number, dim: number): Record<string, ort.Tensor> {
  return Object.fromEntries(names.map((n) => [n, new ort.Tensor(type, type === 'float16' ? new Uint16Array(0) : new Float32Array(0), [1, heads, 0, dim])]));
}

function argmax(x: ArrayLike<number>, from: number, n: number): { i: number; v: number } {
  let i = 0;
  let v = -Infinity;
  for (let k = 0; k < n; k++) if (x[from + k]! > v) [i, v] = [k, x[from + k]!];
  return { i, v };
}

export async function runVerify(argv: string[], io: Io): Promise<number> {
  const { options } = parseArgs(argv, ['onnx-dir', 'golden-dir', 'provider'], []);
  const raw = options['onnx-dir'] ?? io.env.PARLEY_PERSONAPLEX_ONNX_DIR;
  if (!raw || raw === true) throw new UsageError('--onnx-dir <mobius export folder> is required (or PARLEY_PERSONAPLEX_ONNX_DIR)');
  const dir = path.resolve(io.cwd, raw);
  const goldenDir = typeof options['golden-dir'] === 'string' ? path.resolve(io.cwd, options['golden-dir']) : path.join(dir, 'golden');
  const provider = (typeof options.provider === 'string' ? options.provider : 'cpu') as Provider;
  let lm: LmGolden;
  let mimi: MimiGolden | undefined;
  try {
    lm = JSON.parse(await readFile(path.join(goldenDir, 'moshi-lm-personaplex.json'), 'utf8')) as LmGolden;
    mimi = await readFile(path.join(goldenDir, 'mimi-personaplex.json'), 'utf8').then((t) => JSON.parse(t) as MimiGolden, () => undefined);
  } catch (err) {
    io.err(`parley personaplex verify: cannot read ${path.join(goldenDir, 'moshi-lm-personaplex.json')} (${(err as Error).message}); download it from onnxruntime/mobius testdata/golden/audio/ and pass --golden-dir`);
    return 1;
  }
  let graphs;
  try {
    graphs = await loadGraphs({ modelDir: dir, providers: [provider], prefetch: false });
  } catch (err) {
    io.err(`parley personaplex verify: ${(err as Error).message}`);
    return 1;
  }
  const report = new Report();
  try {
    const g = graphs.geometry;
    // fp16 exports round every activation: looser bounds there (argmax is still exact)
    const tol = g.temporalKvType === 'float16' ? 5e-2 : 2e-4;
    const { frame, prev, wave } = goldenInputs(lm.n_steps, lm.dep_q, mimi?.n_frames ?? 8);
    const S = lm.n_steps;
    const t = kvNames(g.temporalLayers);
    const feeds: Record<string, ort.Tensor> = {
      input_frame: new ort.Tensor('int64', frame, [1, 17, S]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(S).fill(1n), [1, S]),
      ...emptyPast(t.past, g.temporalKvType, g.temporalHeads, g.temporalHeadDim),
    };
    if (g.hasPositionIds) feeds.position_ids = new ort.Tensor('int64', BigInt64Array.from({ length: S }, (_, i) => BigInt(i)), [1, S]);
    const out = await graphs.sessions.temporal.run(feeds);
    const hidden = floats(out.hidden!);
    const H = g.temporalHidden;
    const logits = floats(out.text_logits!);
    const V = g.textVocab;
    const last = hidden.subarray((S - 1) * H, S * H);
    report.close('temporal hidden, last step, first 32', last.subarray(0, 32), lm.temporal.hidden_last_head_hex.map(parseHexFloat), tol);
    report.close('temporal hidden, last step, last 32', last.subarray(H - 32), lm.temporal.hidden_last_tail_hex.map(parseHexFloat), tol);
    const text = Array.from({ length: S }, (_, s) => argmax(logits, s * V, V));
    report.exact('text argmax per step', text.map((x) => x.i), lm.temporal.text_argmax);
    report.close('text logit maxima', text.map((x) => x.v), lm.temporal.text_max_hex.map(parseHexFloat), tol * 10);

    const d = kvNames(g.depLayers);
    const hiddenIn = new ort.Tensor(out.hidden!.type as 'float32', (out.hidden!.type === 'float16' ? (out.hidden!.data as Uint16Array).slice((S - 1) * H, S * H) : last.slice()) as Float32Array, [1, 1, H]);
    let past: Record<string, ort.Tensor> = emptyPast(d.past, g.depKvType, g.depHeads, g.depHeadDim);
    const depArg: number[] = [];
    const depMax: number[] = [];
    let head0: Float32Array | undefined;
    for (let cb = 0; cb < lm.dep_q; cb++) {
      const r = await graphs.sessions.depformer.run({
        hidden: hiddenIn,
        prev_token: new ort.Tensor('int64', BigInt64Array.of(BigInt(prev[cb]!)), [1, 1]),
        substep_index: new ort.Tensor('int64', BigInt64Array.of(BigInt(cb)), []),
        ...past,
      });
      const l = floats(r.logits!);
      const a = argmax(l, 0, g.audioVocab);
      depArg.push(a.i);
      depMax.push(a.v);
      if (cb === 0) head0 = l.slice(0, 32);
      past = Object.fromEntries(d.past.map((n, i) => [n, r[d.present[i]!]!]));
    }
    report.close('depformer substep 1, first 32 logits', head0!, lm.depformer.logits0_head_hex.map(parseHexFloat), tol);
    const goldMax = lm.depformer.logits_max_hex.map(parseHexFloat);
    report.exact('depformer argmax, agent codebooks (substeps 1-8)', depArg.slice(0, 8), lm.depformer.logits_argmax.slice(0, 8));
    report.close('depformer logit maxima, substeps 1-8', depMax.slice(0, 8), goldMax.slice(0, 8), tol * 10);
    // Substeps 9-16 predict the user's codebooks, which PersonaPlex always forces, so they never change a token.
    // The reference's depformer attends to the last 8 substeps only (depformer_context 8); mobius' export
    // attends to all, so these may differ from a golden made with the reference without anything being wrong.
    report.info = true;
    report.exact('depformer argmax, user codebooks (substeps 9-16; informational)', depArg.slice(8), lm.depformer.logits_argmax.slice(8));
    report.close('depformer logit maxima, substeps 9-16 (informational)', depMax.slice(8), goldMax.slice(8), tol * 10);
    report.info = false;

    // mobius' Mimi goldens are whole-utterance runs; a streaming export (export/mimi_streaming.py) takes one frame
    // with its state, and is checked against the reference in tests/personaplex-onnx/reference/mimi-streaming.test.ts.
    if (mimi && graphs.mimiLayout === 'streaming') report.lines.push('skip Mimi (streaming export; the goldens are whole-utterance runs)');
    else if (mimi) {
      const enc = await graphs.sessions.mimi_encoder.run({ waveform: new ort.Tensor('float32', wave, [1, 1, wave.length]) });
      const codes = Array.from(enc.codes!.data as BigInt64Array, Number);
      report.exact('Mimi encoder codes', codes, mimi.codes.flat());
      const Tf = mimi.codes[0]!.length;
      const dec = await graphs.sessions.mimi_decoder.run({ codes: new ort.Tensor('int64', BigInt64Array.from(mimi.codes.flat(), BigInt), [1, 8, Tf]) });
      const w = floats(dec.waveform!);
      report.close('Mimi decoder, first 32 samples', w.subarray(0, 32), mimi.dec_head_hex.map(parseHexFloat), 1e-4);
      report.close('Mimi decoder, last 32 samples', w.subarray(w.length - 32), mimi.dec_tail_hex.map(parseHexFloat), 1e-4);
    } else report.lines.push(`skip Mimi (no mimi-personaplex.json in ${goldenDir})`);
  } catch (err) {
    report.failures++;
    report.lines.push(`DIFF the export could not run the golden inputs: ${(err as Error).message}`);
  } finally {
    await graphs.dispose();
  }
  for (const line of report.lines) io.out(line);
  io.out(report.failures ? `FAIL: ${report.failures} check(s) differ from the golden (${dir}, ${provider})` : `PASS: ${dir} matches the goldens on ${provider}`);
  return report.failures ? 1 : 0;
}
