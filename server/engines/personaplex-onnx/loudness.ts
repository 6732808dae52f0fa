/**
 * ITU-R BS.1770 integrated loudness, as the PersonaPlex reference measures a voice prompt before normalising it
 * to -24 LUFS (`normalize_audio` in NVIDIA/personaplex `models/lm.py`, which uses pyloudnorm's default meter):
 * K-weighting (a +4 dB high shelf at 1.5 kHz, Q 1/√2, then a 38 Hz high pass, Q 0.5, both RBJ biquads at the
 * signal's own rate), mean square over 400 ms blocks every 100 ms, an absolute gate at -70 LUFS and a relative
 * gate 10 LU under the mean of the blocks above it. Mono only. Checked against pyloudnorm's numbers in
 * tests/personaplex-onnx/reference/.
 */

type Biquad = { b: [number, number, number]; a: [number, number] };

function biquad(kind: 'high_shelf' | 'high_pass', gainDb: number, q: number, fc: number, rate: number): Biquad {
  const A = 10 ** (gainDb / 40);
  const w0 = (2 * Math.PI * fc) / rate;
  const cos = Math.cos(w0);
  const alpha = Math.sin(w0) / (2 * q);
  let b0, b1, b2, a0, a1, a2;
  if (kind === 'high_shelf') {
    const s = 2 * Math.sqrt(A) * alpha;
    b0 = A * (A + 1 + (A - 1) * cos + s);
    b1 = -2 * A * (A - 1 + (A + 1) * cos);
    b2 = A * (A + 1 + (A - 1) * cos - s);
    a0 = A + 1 - (A - 1) * cos + s;
    a1 = 2 * (A - 1 - (A + 1) * cos);
    a2 = A + 1 - (A - 1) * cos - s;
  } else {
    b0 = (1 + cos) / 2;
    b1 = -(1 + cos);
    b2 = (1 + cos) / 2;
    a0 = 1 + alpha;
    a1 = -2 * cos;
    a2 = 1 - alpha;
  }
  return { b: [b0 / a0, b1 / a0, b2 / a0], a: [a1 / a0, a2 / a0] };
}

function filter(x: Float64Array, { b, a }: Biquad): Float64Array {
  const y = new Float64Array(x.length);
  let x1 = 0, x2 = 0, y1 = 0, y2 = 0;
  for (let n = 0; n < x.length; n++) {
    const v = b[0] * x[n]! + b[1] * x1 + b[2] * x2 - a[0] * y1 - a[1] * y2;
    x2 = x1;
    x1 = x[n]!;
    y2 = y1;
    y1 = v;
    y[n] = v;
  }
  return y;
}

/** Integrated loudness in LUFS (-Infinity for silence). The clip must be at least one 400 ms block long. */
export function integratedLoudness(x: Float32Array, rate: number): number {
  const block = 0.4;
  if (x.length < block * rate) throw new Error(`loudness needs at least ${block * 1000} ms of audio`);
  let y = filter(Float64Array.from(x), biquad('high_shelf', 4, 1 / Math.SQRT2, 1500, rate));
  y = filter(y, biquad('high_pass', 0, 0.5, 38, rate));
  const step = 0.25; // 75 % overlap
  const T = x.length / rate;
  const blocks = Math.round((T - block) / (block * step)) + 1;
  const z = new Float64Array(blocks);
  for (let j = 0; j < blocks; j++) {
    // Block bounds truncated to whole samples as the reference meter does.
    const lo = Math.trunc(block * (j * step) * rate);
    const hi = Math.min(y.length, Math.trunc(block * (j * step + 1) * rate));
    let s = 0;
    for (let i = lo; i < hi; i++) s += y[i]! * y[i]!;
    z[j] = s / (block * rate);
  }
  const lufs = (ms: number) => -0.691 + 10 * Math.log10(ms);
  const l = Array.from(z, lufs);
  const mean = (idx: number[]) => (idx.length ? idx.reduce((a, j) => a + z[j]!, 0) / idx.length : 0);
  const abs = l.flatMap((v, j) => (v >= -70 ? [j] : []));
  const relative = lufs(mean(abs)) - 10;
  const gated = l.flatMap((v, j) => (v > relative && v > -70 ? [j] : []));
  return lufs(mean(gated));
}

/** Scales a clip to `target` LUFS as the reference does (a plain gain, no peak limiting); silence is returned as is. */
export function normaliseLoudness(x: Float32Array, rate: number, target = -24): Float32Array {
  const measured = integratedLoudness(x, rate);
  if (!Number.isFinite(measured)) return x;
  const gain = 10 ** ((target - measured) / 20);
  return x.map((v) => v * gain);
}
