/**
 * What the speakers played, kept by absolute sample index on the clock the mic shares, so a canceller can read the
 * reference of any mic sample still within reach. Both the capture path's AEC3 and the server gate's speexdsp
 * canceller keep their reference here.
 */
export class ReferenceRing {
  private readonly ring: Float32Array;
  /** absolute index of the next sample pushed */
  private written = 0;

  /** Keeps at least `samples` of history (rounded up to a power of two). */
  constructor(samples: number) {
    this.ring = new Float32Array(1 << Math.ceil(Math.log2(Math.max(1, samples))));
  }

  /** Continue the stream. */
  push(x: Float32Array): void {
    const mask = this.ring.length - 1;
    for (let i = 0; i < x.length; i++) this.ring[(this.written + i) & mask] = x[i]!;
    this.written += x.length;
  }

  /**
   * Samples `from` … `from + into.length − 1` into `into`; time not yet pushed, or no longer kept, reads as
   * silence. Returns their sum of squares.
   */
  read(from: number, into: Float32Array): number {
    const mask = this.ring.length - 1;
    let power = 0;
    for (let i = 0; i < into.length; i++) {
      const k = from + i;
      const v = k >= 0 && k < this.written && k >= this.written - this.ring.length ? this.ring[k & mask]! : 0;
      into[i] = v;
      power += v * v;
    }
    return power;
  }
}
