/** Test signals and measures for the Ogg/Opus tests: a multi-tone signal, SNR, and best alignment lag. */
export function multiTone(samples: number, rate = 24_000): Float32Array {
  const out = new Float32Array(samples);
  const tones = [220, 523, 1187, 2900];
  for (let i = 0; i < samples; i++) {
    let s = 0;
    for (const f of tones) s += Math.sin((2 * Math.PI * f * i) / rate);
    // slow amplitude envelope so misalignment shows up as error, not just phase
    out[i] = 0.18 * s * (0.6 + 0.4 * Math.sin((2 * Math.PI * 1.3 * i) / rate));
  }
  return out;
}

/** Signal-to-noise ratio in dB of `test` against `ref` over [from, to). */
export function snrDb(ref: Float32Array, test: Float32Array, from = 0, to = Math.min(ref.length, test.length)): number {
  let sig = 0;
  let err = 0;
  for (let i = from; i < to; i++) {
    sig += ref[i]! * ref[i]!;
    const d = ref[i]! - test[i]!;
    err += d * d;
  }
  return 10 * Math.log10(sig / Math.max(err, 1e-12));
}

/** The lag (test behind ref, in samples) in [-maxLag, maxLag] with the highest normalised correlation. */
export function bestLag(ref: Float32Array, test: Float32Array, maxLag: number, from: number, to: number): number {
  let best = 0;
  let bestC = -Infinity;
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    let c = 0;
    for (let i = from; i < to; i++) c += ref[i]! * (test[i + lag] ?? 0);
    if (c > bestC) {
      bestC = c;
      best = lag;
    }
  }
  return best;
}

export function pcm16leToFloat(bytes: Uint8Array): Float32Array {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength >> 1);
  for (let i = 0; i < out.length; i++) out[i] = v.getInt16(i * 2, true) / 32768;
  return out;
}

export function floatToPcm16le(x: Float32Array): Uint8Array {
  const out = new Uint8Array(x.length * 2);
  const v = new DataView(out.buffer);
  for (let i = 0; i < x.length; i++) v.setInt16(i * 2, Math.round(Math.max(-1, Math.min(1, x[i]!)) * 32767), true);
  return out;
}
