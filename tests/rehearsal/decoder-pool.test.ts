/**
 * The recogniser's decoder pool (server/engines/rehearsal/decoder-pool.ts): decoders stay on one sheet's grammar,
 * sessions of a sheet share them, and a grammar is never set on a decoder in the middle of a turn or where a step
 * waits. The decoders here are stand-ins for soundswallower's (they record the grammars set on them and whether
 * an utterance is open); the real decoders are exercised in recognition.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { DecoderPool, type GrammarDecoder } from '../../server/engines/rehearsal/decoder-pool.ts';

/** Stand-in for a soundswallower Decoder: the grammars it was given, and an open utterance (start … stop). */
class FakeDecoder implements GrammarDecoder {
  grammars: string[] = [];
  inUtterance = false;
  setDuringUtterance = 0;
  fail = false;
  set_grammar(jsgf: string) {
    if (this.fail) throw new Error('bad grammar');
    if (this.inUtterance) this.setDuringUtterance++;
    this.grammars.push(jsgf);
  }
  delete() {}
}

const A = 'grammar A';
const B = 'grammar B';
const C = 'grammar C';

function pool(n: number) {
  const decoders = Array.from({ length: n }, () => new FakeDecoder());
  return { decoders, pool: new DecoderPool(decoders) };
}

describe('decoder pool', () => {
  it('gives each sheet its own decoder at session open, and sessions of the same sheet share it', () => {
    const { decoders, pool: p } = pool(4);
    for (const g of [A, A, A, B]) {
      p.use(g);
      p.pin(g);
    }
    expect(p.pinnedTo(A)).toBe(1);
    expect(p.pinnedTo(B)).toBe(1);
    expect(decoders.map((d) => d.grammars.length)).toEqual([1, 1, 0, 0]);
    // three turns of A one after another: the same decoder, its grammar never set again
    for (let i = 0; i < 3; i++) {
      const d = p.acquire(A, { mayPin: false })!;
      expect(d.decoder).toBe(decoders[0]);
      p.release(d);
    }
    expect(decoders[0]!.grammars).toEqual([A]);
    expect(p.switches).toBe(0);
  });

  it('never sets a grammar where a step waits: without mayPin only a decoder already on the grammar serves', () => {
    const { decoders, pool: p } = pool(3);
    p.use(A);
    p.use(B);
    p.pin(A);
    const a = p.acquire(A, { mayPin: false })!;
    // B has no decoder yet: in a step it waits rather than pin one
    expect(p.acquire(B, { mayPin: false })).toBeUndefined();
    expect(p.acquire(A, { mayPin: false })).toBeUndefined(); // A's one decoder is busy
    expect(decoders.flatMap((d) => d.grammars)).toEqual([A]);
    // between steps it pins a free unpinned one
    const b = p.acquire(B, { mayPin: true })!;
    expect(b.decoder).toBe(decoders[1]);
    expect(b.grammar).toBe(B);
    p.release(a);
    p.release(b);
  });

  it('never changes the grammar of a decoder in a turn, and moves a spare one only for a turn that waited', () => {
    const { decoders, pool: p } = pool(3);
    for (const g of [A, B]) p.use(g);
    p.pin(A);
    p.pin(B);
    // a second decoder for A (turns of A overlapped)
    const a1 = p.acquire(A, { mayPin: false })!;
    const a2 = p.acquire(A, { mayPin: true })!;
    expect(p.pinnedTo(A)).toBe(2);
    for (const d of [a1, a2]) (d.decoder as FakeDecoder).inUtterance = true;
    const b1 = p.acquire(B, { mayPin: false })!;
    (b1.decoder as FakeDecoder).inUtterance = true;
    // every decoder is in a turn: another B turn gets none, even one that waited, and no grammar moves
    expect(p.acquire(B, { mayPin: true, mayMove: true })).toBeUndefined();
    expect(decoders.map((d) => d.setDuringUtterance)).toEqual([0, 0, 0]);
    // A's second decoder ends its turn: a B turn that has not waited leaves it on A; one that waited takes it
    (a2.decoder as FakeDecoder).inUtterance = false;
    p.release(a2);
    expect(p.acquire(B, { mayPin: true })).toBeUndefined();
    const moved = p.acquire(B, { mayPin: true, mayMove: true })!;
    expect(moved).toBe(a2);
    expect(moved.grammar).toBe(B);
    expect(p.switches).toBe(1);
    expect(p.pinnedTo(A)).toBe(1);
    // a sheet's last decoder goes only to a sheet that holds none (fewer decoders than sheets)
    (a1.decoder as FakeDecoder).inUtterance = false;
    p.release(a1);
    p.use(C);
    expect(p.acquire(C, { mayPin: true, mayMove: true })).toBe(a1); // C holds no decoder at all: it borrows
    p.release(a1);
    expect(p.acquire(B, { mayPin: true, mayMove: true })).toBeUndefined(); // C's only one now; B's are busy
    expect(decoders.map((d) => d.setDuringUtterance)).toEqual([0, 0, 0]);
  });

  it("takes back a decoder whose sheet has no session left", () => {
    const { pool: p } = pool(2);
    p.use(A);
    p.use(B);
    p.pin(A);
    p.pin(B);
    p.unuse(A);
    p.use(C);
    p.pin(C); // A has no session: its decoder goes to C at C's session open
    expect(p.pinnedTo(A)).toBe(0);
    expect(p.pinnedTo(C)).toBe(1);
    expect(p.pinnedTo(B)).toBe(1);
  });

  it('a grammar that does not compile throws at pin and leaves the decoder unpinned', () => {
    const { decoders, pool: p } = pool(1);
    decoders[0]!.fail = true;
    expect(() => p.pin(A)).toThrow(/bad grammar/);
    expect(p.pinnedTo(A)).toBe(0);
    decoders[0]!.fail = false;
    p.pin(B);
    expect(p.pinnedTo(B)).toBe(1);
  });
});
