/**
 * The fixed buffers of the step path, sized once for the engine's capacity and reused every tick, so a
 * steady batch allocates nothing on the JS side per tick except what ORT returns and the audio handed out.
 * Input tensors are cached per batch size: each wraps a view of one backing buffer, which the step rewrites
 * in place before the run.
 */
import { endianness } from 'node:os';
import * as ort from 'onnxruntime-node';
import { DEP_Q, MIMI_CODEBOOKS, NUM_STREAMS } from './constants.ts';
import type { Geometry } from './graphs.ts';
import type { Forced, Prepared } from './lm-ring.ts';
import type { DecoderWindow, EncoderWindow } from './mimi-stream.ts';
import { alloc } from './temporal-kv.ts';

interface PerBatch {
  frame: ort.Tensor;
  positions: ort.Tensor;
  prev: ort.Tensor;
  depPast: ort.Tensor[];
}

if (endianness() !== 'LE') throw new Error('personaplex-onnx writes int64 inputs through int32 views and needs a little-endian host');

/** Writes a non-negative integer below 2^31 into element i of an int64 array through its int32 view (no BigInt). */
export function setInt64(view: Int32Array, i: number, v: number) {
  view[2 * i] = v;
  view[2 * i + 1] = 0;
}

export class StepBuffers {
  /** [cap][17] temporal input columns, as the graph reads them */
  readonly frame: BigInt64Array;
  readonly positions: BigInt64Array;
  /** depformer prev_token, one per row */
  readonly prev: BigInt64Array;
  /** int32 views of the three above, written with setInt64 */
  readonly frame32: Int32Array;
  readonly positions32: Int32Array;
  readonly prev32: Int32Array;
  /** per row: what the ring is told this step (the user's codes, from userCodes) */
  readonly forced: Forced[];
  /** per row: the frame completed this step (a view of `finished`) or null */
  readonly finishedOut: (Int32Array | null)[];
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
    this.frame32 = new Int32Array(this.frame.buffer);
    this.positions32 = new Int32Array(this.positions.buffer);
    this.prev32 = new Int32Array(this.prev.buffer);
    this.prepared = Array.from({ length: capacity }, () => ({ input: new Int32Array(NUM_STREAMS), target: new Int32Array(NUM_STREAMS), provided: new Uint8Array(NUM_STREAMS) }));
    this.finished = Array.from({ length: capacity }, () => new Int32Array(NUM_STREAMS));
    this.audio = Array.from({ length: capacity }, () => new Int32Array(DEP_Q));
    this.textSampled = new Int32Array(capacity);
    this.textNext = new Int32Array(capacity);
    this.userCodes = Array.from({ length: capacity }, () => new Int32Array(MIMI_CODEBOOKS));
    this.forced = this.userCodes.map((user) => ({ user }));
    this.finishedOut = new Array<Int32Array | null>(capacity).fill(null);
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

/**
 * The engine's per-tick lists (sessions stepped, their inputs, their places in the caller's batch, their Mimi
 * windows, the decoded frames), kept as arrays that only grow, so a tick makes none. `release` drops the
 * references a tick left, so closed sessions and handed-out frames are not kept alive.
 */
export class TickScratch<S = unknown> {
  readonly sessions: S[] = [];
  readonly inputs: Float32Array[] = [];
  idx = new Int32Array(64);
  readonly enc: EncoderWindow[] = [];
  readonly dec: DecoderWindow[] = [];
  readonly wave: Float32Array[] = [];

  reserve(n: number) {
    if (this.idx.length < n) this.idx = new Int32Array(Math.max(n, 2 * this.idx.length));
  }

  release(n: number) {
    for (let j = 0; j < n; j++) {
      this.sessions[j] = undefined as never;
      this.inputs[j] = undefined as never;
      this.enc[j] = undefined as never;
      this.dec[j] = undefined as never;
      this.wave[j] = undefined as never;
    }
  }
}
