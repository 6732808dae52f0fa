/**
 * An NPC's input frame: the weighted sum of the players it hears, limited so it never clips. The limiter's gain
 * drops at once when a frame would clip and recovers slowly, ramped across the frame, so there are no clicks.
 */
import { FRAME_SAMPLES } from '../../protocol/frame.ts';

const CEILING = 0.98;
const RECOVERY_PER_FRAME = 1.12; // ~+1 dB per 80 ms

export class HearingMixer {
  private gain = 1;
  readonly out = new Float32Array(FRAME_SAMPLES);

  /** Mix `inputs` with `weights` into `this.out` (reused buffer) and return it. */
  mix(inputs: readonly Float32Array[], weights: readonly number[]): Float32Array {
    const out = this.out;
    out.fill(0);
    for (let p = 0; p < inputs.length; p++) {
      const w = weights[p]!;
      if (w === 0) continue;
      const x = inputs[p]!;
      for (let i = 0; i < FRAME_SAMPLES; i++) out[i] += w * x[i]!;
    }
    let peak = 0;
    for (let i = 0; i < FRAME_SAMPLES; i++) {
      const a = Math.abs(out[i]!);
      if (a > peak) peak = a;
    }
    // The gain never exceeds what keeps this frame under the ceiling; it falls at once and recovers slowly.
    const safe = peak > 0 ? CEILING / peak : Infinity;
    const target = Math.min(1, this.gain * RECOVERY_PER_FRAME, safe);
    if (target <= this.gain) {
      for (let i = 0; i < FRAME_SAMPLES; i++) out[i] = out[i]! * target;
    } else {
      // ramp up across the frame: every sample's gain is between the old gain and target, both safe
      const step = (target - this.gain) / FRAME_SAMPLES;
      for (let i = 0; i < FRAME_SAMPLES; i++) out[i] = out[i]! * (this.gain + step * i);
    }
    this.gain = target;
    return out;
  }
}
