/**
 * A canceller fed as the capture path feeds it: the far end played frame by frame through a simulated room into
 * the mic (plus the player's voice, `near`), the reference pushed, then the mic cancelled.
 */
import { FRAME_SAMPLES } from '../../../protocol/frame.ts';
import { EchoPath, type EchoPathSpec } from './room.ts';

export interface StreamCanceller {
  pushReference(x: Float32Array): void;
  process(mic: Float32Array): Float32Array;
}

export function cancelThroughRoom(
  aec: StreamCanceller,
  spec: EchoPathSpec,
  far: Float32Array,
  opts: { near?: Float32Array; changeAt?: { s: number; spec: EchoPathSpec } } = {},
) {
  const room = new EchoPath(spec);
  const n = Math.floor(far.length / FRAME_SAMPLES) * FRAME_SAMPLES;
  const echo = new Float32Array(n);
  const out = new Float32Array(n);
  const near = opts.near;
  for (let at = 0; at < n; at += FRAME_SAMPLES) {
    if (opts.changeAt && at === Math.round(opts.changeAt.s / 0.08) * FRAME_SAMPLES) room.change(opts.changeAt.spec);
    const x = far.subarray(at, at + FRAME_SAMPLES);
    const e = room.process(x);
    echo.set(e, at);
    const mic = e.slice();
    if (near) for (let i = 0; i < FRAME_SAMPLES; i++) mic[i]! += near[at + i] ?? 0;
    aec.pushReference(x);
    out.set(aec.process(mic), at);
  }
  return { echo, out, n };
}
