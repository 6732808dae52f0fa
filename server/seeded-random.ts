/**
 * mulberry32: a small, fast pseudo-random generator in [0, 1) that gives the same sequence on every platform for
 * a seed. Used wherever a run must repeat: the rehearsal engine's line order, bench stimuli and impairments,
 * test model weights.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
