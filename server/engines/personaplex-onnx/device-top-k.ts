/**
 * Top-k selection on the execution provider (issue 17): a small post-graph, ONNX `TopK` (largest, sorted; ties
 * to the lower index, as the spec says and as the host sampler orders them), runs on the same provider over the
 * LM's logits, so only B × k values and ids come back to the host instead of B × vocabulary logits. On WebGPU
 * the logits are gpu-buffer outputs and never leave the device. The host then does what is left of sampling:
 * the temperature softmax over the k values and one seeded draw per row (`drawSorted`, the same code the host
 * sampler ends with), so the tokens are those of the host sampler for the same logits and generator state.
 *
 * On the CPU provider ORT's TopK costs more than the host sampler (about 25 ms per tick at 32 sessions, measured),
 * so the engine uses this path only on a GPU provider unless told otherwise (`selection`).
 */
import * as ort from 'onnxruntime-node';
import type { KvType } from './graphs.ts';
import { halfTable } from './half.ts';
import { OnnxType, int64s, model, node, valueInfo } from './post-graphs.ts';
import { drawSorted, drawSortedHalf, type Uniform } from './top-k.ts';

/** The post-graph's I/O: `logits [batch, seq, vocab]` → `values [batch, seq, k]`, `indices` int32 of the same shape. */
export const TOPK_INPUT = 'logits';
export const TOPK_VALUES = 'values';
export const TOPK_INDICES = 'indices';

/** ONNX TopK over the last axis; the ids are cast to int32 on the device (half the bytes, no BigInt on the host). */
export function topKGraph(dtype: KvType, k: number): Uint8Array {
  const elem = dtype === 'float16' ? OnnxType.FLOAT16 : OnnxType.FLOAT;
  return model('parley_top_k', {
    node: [node('TopK', [TOPK_INPUT, 'k'], [TOPK_VALUES, 'ids64'], { axis: -1, largest: 1, sorted: 1 }), node('Cast', ['ids64'], [TOPK_INDICES], { to: OnnxType.INT32 })],
    initializer: [int64s('k', [k])],
    input: [valueInfo(TOPK_INPUT, elem, ['batch', 'seq', 'vocab'])],
    output: [valueInfo(TOPK_VALUES, elem, ['batch', 'seq', k]), valueInfo(TOPK_INDICES, OnnxType.INT32, ['batch', 'seq', k])],
  });
}

/** What one row needs from a selection run: its k best values (best first) and their ids. */
export interface Selected {
  /** [rows][k] float32, or fp16 bits */
  values: Float32Array | Uint16Array;
  /** [rows][k] */
  ids: Int32Array;
  k: number;
}

/**
 * One TopK post-graph session for one k and dtype, plus the host's scratch for the draw. `run` feeds it the
 * logits tensor as the LM returned it (CPU or gpu-buffer) and returns the B × k values and ids; `draw` samples
 * one row.
 */
export class DeviceTopK {
  private readonly vals: Float64Array;
  private readonly w: Float64Array;
  private readonly half = halfTable();
  private readonly feeds: Record<string, ort.Tensor> = {};
  /** the last run's selection, rewritten by each run (valid until the next) */
  private readonly selected: Selected = { values: new Float32Array(0), ids: new Int32Array(0), k: 0 };

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly k: number,
  ) {
    this.vals = new Float64Array(k);
    this.w = new Float64Array(k);
  }

  /** `graph` replaces the TopK graph (tests and the host bench: a stand-in with the same I/O). */
  static async open(k: number, dtype: KvType, options: ort.InferenceSession.SessionOptions, graph?: Uint8Array): Promise<DeviceTopK> {
    const session = await ort.InferenceSession.create(graph ?? topKGraph(dtype, k), options);
    return new DeviceTopK(session, k);
  }

  /**
   * Selects the top k of every row of `logits` ([B, 1, vocab]); the caller frees a gpu-buffer input afterwards. The
   * result object is reused by the next run.
   */
  async run(logits: ort.Tensor): Promise<Selected> {
    this.feeds[TOPK_INPUT] = logits;
    const r = await this.session.run(this.feeds);
    this.feeds[TOPK_INPUT] = undefined as never;
    const values = r[TOPK_VALUES]!;
    if (values.dims[values.dims.length - 1] !== this.k) throw new Error(`top-k post-graph returned ${values.dims.join('×')}, expected k = ${this.k} on the last axis`);
    const sel = this.selected;
    sel.values = values.data as Float32Array | Uint16Array;
    sel.ids = r[TOPK_INDICES]!.data as Int32Array;
    sel.k = this.k;
    return sel;
  }

  /** Temperature softmax over row `row`'s k values and one draw; greedy (the first id) at temperature ≤ 0. */
  draw(sel: Selected, row: number, temperature: number, rng: Uniform): number {
    const k = sel.k;
    const at = row * k;
    if (temperature <= 0 || k === 1) return sel.ids[at]!;
    const v = sel.values;
    if (v instanceof Uint16Array) return sel.ids[at + drawSortedHalf(v, at, k, this.half, temperature, rng, this.w)]!;
    const vals = this.vals;
    for (let i = 0; i < k; i++) vals[i] = v[at + i]!;
    return sel.ids[at + drawSorted(vals, k, temperature, rng, this.w)]!;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
