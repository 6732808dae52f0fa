/**
 * The fixed buffers of the step path, sized once for the engine's capacity and reused every tick, so a
 * steady batch allocates nothing on the JS side per tick except what ORT returns and the audio handed out.
 * Input tensors are cached per batch size: each wraps a view of one backing buffer, which the step rewrites
 * in place before the run.
 */
import * as ort from 'onnxruntime-node';
import { DEP_Q, MIMI_CODEBOOKS, NUM_STREAMS } from './constants.ts';
import type { Geometry } from './graphs.ts';
import type { Prepared } from './lm-ring.ts';
import { alloc } from './temporal-kv.ts';

interface PerBatch {
  frame: ort.Tensor;
  positions: ort.Tensor;
  prev: ort.Tensor;
  depPast: ort.Tensor[];
}

export class StepBuffers {
  /** [cap][17] temporal input columns, as the graph reads them */
  readonly frame: BigInt64Array;
  readonly positions: BigInt64Array;
  /** depformer prev_token, one per row */
  readonly prev: BigInt64Array;
  /** per row: the ring's prepared column / target / provided flags */
  readonly prepared: Prepared[];
  /** per row: the finished frame's 17 tokens */
  readonly finished: Int32Array[];
  /** per row: 16 sampled audio tokens */
  readonly audio: Int32Array[];
  readonly textSampled: Int32Array;
  readonly textNext: Int32Array;
  /** per row user codes from the Mimi encoder */
  readonly userCodes: Int32Array[];
  /** substep_index scalars 0..15 */
  readonly substep: ort.Tensor[];
  private readonly byBatch = new Map<number, PerBatch>();

  constructor(
    private readonly g: Geometry,
    readonly capacity: number,
  ) {
    this.frame = new BigInt64Array(capacity * NUM_STREAMS);
    this.positions = new BigInt64Array(capacity);
    this.prev = new BigInt64Array(capacity);
    this.prepared = Array.from({ length: capacity }, () => ({ input: new Int32Array(NUM_STREAMS), target: new Int32Array(NUM_STREAMS), provided: new Uint8Array(NUM_STREAMS) }));
    this.finished = Array.from({ length: capacity }, () => new Int32Array(NUM_STREAMS));
    this.audio = Array.from({ length: capacity }, () => new Int32Array(DEP_Q));
    this.textSampled = new Int32Array(capacity);
    this.textNext = new Int32Array(capacity);
    this.userCodes = Array.from({ length: capacity }, () => new Int32Array(MIMI_CODEBOOKS));
    this.substep = Array.from({ length: DEP_Q }, (_, cb) => new ort.Tensor('int64', BigInt64Array.of(BigInt(cb)), []));
  }

  /** Tensors for a batch of B rows (B ≤ capacity), made on first use of that B. */
  forBatch(B: number): PerBatch {
    if (B > this.capacity) throw new Error(`batch of ${B} sessions exceeds the engine's buffers (${this.capacity})`);
    let t = this.byBatch.get(B);
    if (!t) {
      const g = this.g;
      const emptyPast = new ort.Tensor(g.depKvType, alloc(g.depKvType, 0), [B, g.depHeads, 0, g.depHeadDim]);
      t = {
        frame: new ort.Tensor('int64', this.frame.subarray(0, B * NUM_STREAMS), [B, NUM_STREAMS, 1]),
        positions: new ort.Tensor('int64', this.positions.subarray(0, B), [B, 1]),
        prev: new ort.Tensor('int64', this.prev.subarray(0, B), [B, 1]),
        depPast: Array.from({ length: 2 * g.depLayers }, () => emptyPast),
      };
      this.byBatch.set(B, t);
    }
    return t;
  }
}
