/**
 * A worker's speech decoders, each kept on one grammar. Compiling a grammar onto a PocketSphinx decoder
 * (set_grammar) blocks the thread for 11–60 ms, so a decoder is pinned to the first grammar it gets and serves
 * every session of that sheet from then on; sessions of the same sheet share it, one turn at a time.
 *
 * A grammar is set only where no step waits on it: when a session opens (`pin`), or by the recogniser's idle
 * pump (`acquire(…, { mayPin: true })`), and never on a busy decoder, so never in the middle of a turn. A decoder
 * moves to another grammar only when every decoder is pinned, it is free, and its own grammar keeps another
 * decoder or has no session left (or, with fewer decoders than grammars, a grammar holds none); each such move is
 * counted (`switches`).
 */
import { silentLogger, type Logger } from '../../log.ts';

/** What the pool needs of a soundswallower Decoder (a stand-in in tests). */
export interface GrammarDecoder {
  set_grammar(jsgf: string): void;
  delete(): void;
}

export interface PooledDecoder<D extends GrammarDecoder = GrammarDecoder> {
  decoder: D;
  /** the grammar it is pinned to; undefined until first used */
  grammar?: string;
  busy: boolean;
}

export class DecoderPool<D extends GrammarDecoder = GrammarDecoder> {
  private readonly pool: PooledDecoder<D>[];
  /** open sessions (listeners) per grammar */
  private readonly users = new Map<string, number>();
  /** grammar changes on a decoder already pinned to another one */
  switches = 0;

  constructor(
    decoders: D[],
    private readonly log: Logger = silentLogger,
  ) {
    this.pool = decoders.map((decoder) => ({ decoder, busy: false }));
  }

  /** A session of `grammar` opened. */
  use(grammar: string) {
    this.users.set(grammar, (this.users.get(grammar) ?? 0) + 1);
  }

  /** A session of `grammar` closed. */
  unuse(grammar: string) {
    const n = (this.users.get(grammar) ?? 0) - 1;
    if (n > 0) this.users.set(grammar, n);
    else this.users.delete(grammar);
  }

  /**
   * At session open: make sure a decoder holds `grammar` (this also checks it compiles; a bad grammar throws).
   * Takes an unpinned decoder, or one another grammar can spare; leaves things as they are when none can be.
   */
  pin(grammar: string) {
    if (this.pool.some((p) => p.grammar === grammar)) return;
    const p = this.pool.find((x) => !x.busy && x.grammar === undefined) ?? this.spare();
    if (p) this.setGrammar(p, grammar);
  }

  /**
   * A free decoder holding `grammar`, marked busy; undefined when none is free (ask again later). With `mayPin`
   * (only where no step waits) it may also pin an unpinned decoder, and with `mayMove` too (a turn that has
   * waited a while) move a spare one to `grammar`.
   */
  acquire(grammar: string, opts: { mayPin: boolean; mayMove?: boolean }): PooledDecoder<D> | undefined {
    let p = this.pool.find((x) => !x.busy && x.grammar === grammar);
    if (!p && opts.mayPin) {
      p = this.pool.find((x) => !x.busy && x.grammar === undefined) ?? (opts.mayMove ? this.spare() : undefined);
      // fewer decoders than grammars in use: a grammar that holds none borrows any free one
      if (!p && this.pinnedTo(grammar) === 0) p = this.pool.find((x) => !x.busy);
      if (p) this.setGrammar(p, grammar);
    }
    if (p) p.busy = true;
    return p;
  }

  release(p: PooledDecoder<D>) {
    p.busy = false;
  }

  /** A decoder that failed is not reused. */
  discard(p: PooledDecoder<D>) {
    const i = this.pool.indexOf(p);
    if (i >= 0) this.pool.splice(i, 1);
    try {
      p.decoder.delete();
    } catch {
      // already unusable
    }
  }

  /** Decoders pinned to `grammar`. */
  pinnedTo(grammar: string): number {
    return this.pool.filter((p) => p.grammar === grammar).length;
  }

  get size(): number {
    return this.pool.length;
  }

  dispose() {
    for (const p of this.pool) p.decoder.delete();
    this.pool.length = 0;
  }

  /** A free pinned decoder whose grammar can do without it: no session uses that grammar, or it has another. */
  private spare(): PooledDecoder<D> | undefined {
    return (
      this.pool.find((x) => !x.busy && x.grammar !== undefined && !this.users.has(x.grammar)) ??
      this.pool.find((x) => !x.busy && x.grammar !== undefined && this.pinnedTo(x.grammar) > 1)
    );
  }

  private setGrammar(p: PooledDecoder<D>, grammar: string) {
    const moved = p.grammar !== undefined;
    const t0 = performance.now();
    try {
      p.decoder.set_grammar(grammar);
    } catch (err) {
      p.grammar = undefined; // what it holds now is unknown
      throw err;
    }
    if (moved) {
      this.switches++;
      this.log.debug({ ms: Math.round(performance.now() - t0) }, 'decoder grammar switched');
    }
    p.grammar = grammar;
  }
}
