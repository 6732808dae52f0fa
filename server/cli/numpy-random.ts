/**
 * numpy's legacy `RandomState(seed)` (MT19937), enough of it to rebuild the deterministic inputs of mobius'
 * PersonaPlex parity goldens: `randint(low, high)` (masked rejection on 32-bit draws) and `standard_normal()`
 * (the polar method, one value cached). Written from the algorithms; tests check it against numpy's numbers.
 */
export class LegacyRandomState {
  private mt = new Uint32Array(624);
  private i = 624;
  private gauss: number | null = null;

  constructor(seed: number) {
    this.mt[0] = seed >>> 0;
    for (let k = 1; k < 624; k++) {
      const prev = this.mt[k - 1]! ^ (this.mt[k - 1]! >>> 30);
      // 1812433253 * prev + k, modulo 2^32, without losing bits to float rounding
      this.mt[k] = (Math.imul(1812433253, prev) + k) >>> 0;
    }
  }

  private next32(): number {
    if (this.i >= 624) {
      for (let k = 0; k < 624; k++) {
        const y = (this.mt[k]! & 0x80000000) | (this.mt[(k + 1) % 624]! & 0x7fffffff);
        this.mt[k] = this.mt[(k + 397) % 624]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.i = 0;
    }
    let y = this.mt[this.i++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** a double in [0, 1) from 53 random bits */
  private double(): number {
    const a = this.next32() >>> 5;
    const b = this.next32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** `randint(low, high)` for a range below 2^32 */
  randint(low: number, high: number): number {
    const range = high - low - 1;
    if (range === 0) return low;
    let mask = range;
    for (let s = 1; s < 32; s <<= 1) mask |= mask >>> s;
    mask >>>= 0;
    for (;;) {
      const v = (this.next32() & mask) >>> 0;
      if (v <= range) return low + v;
    }
  }

  standardNormal(): number {
    if (this.gauss !== null) {
      const g = this.gauss;
      this.gauss = null;
      return g;
    }
    let x1: number, x2: number, r2: number;
    do {
      x1 = 2 * this.double() - 1;
      x2 = 2 * this.double() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 === 0);
    const f = Math.sqrt((-2 * Math.log(r2)) / r2);
    this.gauss = f * x1;
    return f * x2;
  }
}
