/**
 * The per-session token ring of LMGen (NVIDIA/personaplex `moshi/models/lm.py`: `prepare_step_input`,
 * `process_transformer_output`): 17 streams × (max_delay + 3) slots, with the "provided" flags that let
 * forced tokens (the user's Mimi codes, the prompt phase) override what the model samples. Pure bookkeeping,
 * no model: the engine asks it for the temporal input column, runs the graphs, and hands back what it sampled.
 */
import { DELAYS, INITIAL_TOKENS, MAX_DELAY, MIMI_CODEBOOKS, NUM_STREAMS, RING, UNGENERATED, USER_STREAM, AGENT_STREAM, TEXT_STREAM } from './constants.ts';

export interface Forced {
  /** 8 user codebooks (streams 9..16) */
  user?: ArrayLike<number>;
  /** 8 agent codebooks (streams 1..8) */
  agent?: ArrayLike<number>;
  text?: number;
}

export interface Prepared {
  /** the 17 tokens the temporal transformer reads this step (slot offset-1) */
  input: Int32Array;
  /** the tokens already known for the slot being generated (slot offset), valid where `provided` */
  target: Int32Array;
  provided: Uint8Array;
}

export interface RingState {
  cache: Int32Array;
  provided: Uint8Array;
  offset: number;
}

export class LmRing {
  /** [stream][slot], stream-major */
  cache = new Int32Array(NUM_STREAMS * RING).fill(UNGENERATED);
  provided = new Uint8Array(NUM_STREAMS * RING);
  offset = 0;

  static from(s: RingState): LmRing {
    const r = new LmRing();
    r.cache.set(s.cache);
    r.provided.set(s.provided);
    r.offset = s.offset;
    return r;
  }

  snapshot(): RingState {
    return { cache: new Int32Array(this.cache), provided: new Uint8Array(this.provided), offset: this.offset };
  }

  private put(k: number, slot: number, token: number) {
    this.cache[k * RING + slot] = token;
    this.provided[k * RING + slot] = 1;
  }

  /**
   * Writes the forced tokens at offset + delay, seeds the delayed streams with their initial token at the
   * very start, and returns the input column, or null on the first call (nothing to read yet).
   */
  prepare(forced: Forced = {}, into?: Prepared): Prepared | null {
    const o = this.offset;
    if (forced.user) for (let q = 0; q < MIMI_CODEBOOKS; q++) this.put(USER_STREAM + q, (o + DELAYS[USER_STREAM + q]!) % RING, forced.user[q]!);
    if (forced.agent) for (let q = 0; q < MIMI_CODEBOOKS; q++) this.put(AGENT_STREAM + q, (o + DELAYS[AGENT_STREAM + q]!) % RING, forced.agent[q]!);
    if (forced.text !== undefined) this.put(TEXT_STREAM, (o + DELAYS[TEXT_STREAM]!) % RING, forced.text);
    for (let k = 0; k < NUM_STREAMS; k++) if (o <= DELAYS[k]!) this.put(k, o % RING, INITIAL_TOKENS[k]!);
    if (o === 0) {
      for (let k = 0; k < NUM_STREAMS; k++) this.cache[k * RING] = INITIAL_TOKENS[k]!;
      this.offset = 1;
      return null;
    }
    const mip = (o - 1) % RING;
    const tp = o % RING;
    // `into` lets the step path reuse one set of arrays per row instead of allocating three per frame.
    const input = into?.input ?? new Int32Array(NUM_STREAMS);
    const target = into?.target ?? new Int32Array(NUM_STREAMS);
    const provided = into?.provided ?? new Uint8Array(NUM_STREAMS);
    for (let k = 0; k < NUM_STREAMS; k++) {
      input[k] = this.cache[k * RING + mip]!;
      target[k] = this.cache[k * RING + tp]!;
      provided[k] = this.provided[k * RING + tp]!;
    }
    return into ?? { input, target, provided };
  }

  /**
   * Stores what the model sampled (text + 16 audio) where nothing was forced, and returns the 17 tokens of
   * the frame that is now complete (offset - max_delay, each stream at its delay), or null while the delayed
   * streams are still filling.
   */
  commit(text: number, audio: ArrayLike<number> | null, into?: Int32Array): Int32Array | null {
    const o = this.offset;
    const mip = (o - 1) % RING;
    const tp = o % RING;
    for (let k = 0; k < NUM_STREAMS; k++) this.provided[k * RING + mip] = 0;
    if (!this.provided[TEXT_STREAM * RING + tp]) this.cache[TEXT_STREAM * RING + tp] = text;
    if (audio) for (let k = 1; k < NUM_STREAMS; k++) if (!this.provided[k * RING + tp]) this.cache[k * RING + tp] = audio[k - 1]!;
    if (o <= MAX_DELAY) {
      this.offset++;
      return null;
    }
    const out = into ?? new Int32Array(NUM_STREAMS);
    for (let k = 0; k < NUM_STREAMS; k++) out[k] = this.cache[k * RING + ((o - MAX_DELAY + DELAYS[k]!) % RING)]!;
    this.offset++;
    return out;
  }

  /** Replaces the token ring (a `.pt` voice prompt's saved `cache`, [17][4]). */
  loadCache(tokens: ArrayLike<number>) {
    if (tokens.length !== NUM_STREAMS * RING) throw new Error(`voice cache must hold ${NUM_STREAMS}×${RING} tokens, got ${tokens.length}`);
    for (let i = 0; i < tokens.length; i++) this.cache[i] = tokens[i]!;
  }
}

/** True when every stream of the target slot is forced: sampling cannot change the state. */
export function allProvided(p: Prepared): boolean {
  for (let k = 0; k < NUM_STREAMS; k++) if (!p.provided[k]) return false;
  return true;
}
