/**
 * One player's voice on its way in: validate, decode (Opus or PCM16, as negotiated), sanitise, buffer.
 * Every refusal is counted and explained; nothing a player sends can throw out of here.
 */
import type { Codec } from '../../protocol/codecs.ts';
import { FRAME_SAMPLES } from '../../protocol/frame.ts';
import type { VoiceMsg } from '../../protocol/messages.ts';
import { createDecoder, FrameSizeError, type FrameDecoder } from '../codec/index.ts';
import type { Logger } from '../log.ts';
import type { ParleyMetrics } from '../metrics/parley-metrics.ts';
import { UplinkJitterBuffer } from './uplink-jitter-buffer.ts';
import { rms } from '../../protocol/dsp/level.ts';

/** Below about -50 dBFS: no speech a hearing mix would use, so trimming it after a stall loses nothing. */
const QUIET_RMS = 0.003;

export type IntakeResult =
  | { ok: true; overflow: boolean }
  | { ok: false; reason: 'wrong-codec' | 'corrupt' | 'frame-size' | 'late' | 'duplicate'; message: string };

export class PlayerVoiceIntake {
  private decoder: FrameDecoder;
  readonly buffer: UplinkJitterBuffer<Float32Array>;
  /** frames received in the current one-second window, to spot floods */
  private windowStart = 0;
  private windowCount = 0;
  lastRate = 0;

  constructor(
    readonly codec: Codec,
    opts: { primeFrames?: number | 'adaptive'; maxFrames?: number } = {},
  ) {
    this.decoder = createDecoder(codec);
    this.buffer = new UplinkJitterBuffer(opts.primeFrames ?? 'adaptive', opts.maxFrames ?? 6, { conceal: concealFrame, isSilent: (f) => rms(f as Float32Array) < QUIET_RMS });
  }

  push(msg: VoiceMsg, now = Date.now()): IntakeResult {
    if (now - this.windowStart >= 1000) {
      this.lastRate = this.windowCount / ((now - this.windowStart) / 1000 || 1);
      this.windowStart = now;
      this.windowCount = 0;
    }
    this.windowCount++;
    if (msg.codec !== this.codec) {
      return { ok: false, reason: 'wrong-codec', message: `voice frame in ${msg.codec}, negotiated ${this.codec}` };
    }
    let pcm: Float32Array;
    try {
      pcm = this.decoder.decode(msg.data);
    } catch (err) {
      const reason = err instanceof FrameSizeError ? 'frame-size' : 'corrupt';
      return { ok: false, reason, message: (err as Error).message };
    }
    sanitise(pcm);
    const why = this.buffer.push(msg.seq, pcm);
    if (why === 'late' || why === 'duplicate') return { ok: false, reason: why, message: `voice frame seq ${msg.seq} ${why}` };
    return { ok: true, overflow: why === 'overflow' };
  }

  /** Frames per second over the last full second (12.5 is real time). */
  rate(now = Date.now()): number {
    return now - this.windowStart >= 1000 ? this.windowCount / ((now - this.windowStart) / 1000) : Math.max(this.lastRate, this.windowCount);
  }

  /** This tick's frame; `earlyMs`: how long before its deadline the tick fired (uplink-jitter-buffer.ts). */
  pop(earlyMs = 0): Float32Array | null {
    return this.buffer.pop(performance.now(), earlyMs);
  }
}

/**
 * One voice message into a player's intake, counted: overflow and late frames are normal network weather
 * (counted, an overflow logged now and then); anything else is returned as a refusal for the player.
 */
export function takeVoice(intake: PlayerVoiceIntake, msg: VoiceMsg, metrics: ParleyMetrics, log: Logger): { code: string; message: string } | null {
  const r = intake.push(msg);
  if (r.ok) {
    if (r.overflow) {
      // faster than real time: the oldest frame was dropped to keep the buffer (and the delay) bounded
      metrics.framesDropped.inc({ stream: 'player_voice', reason: 'overflow' });
      const dropped = intake.buffer.stats.overflow;
      if (dropped === 1 || dropped % 100 === 0) {
        log.warn({ rate: Number(intake.rate().toFixed(1)), dropped }, 'player sends voice faster than real time (12.5 frames/s expected); frames dropped');
      }
    }
    return null;
  }
  if (r.reason === 'late' || r.reason === 'duplicate') {
    metrics.framesLate.inc({ stream: 'player_voice', reason: r.reason });
    return null;
  }
  return { code: r.reason, message: r.message };
}

/** NaN/Inf become 0, samples are clamped to [-1, 1]: a broken client cannot poison the mix. */
export function sanitise(x: Float32Array): Float32Array {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    x[i] = v !== v ? 0 : v > 1 ? 1 : v < -1 ? -1 : v;
  }
  return x;
}

export const SILENCE = new Float32Array(FRAME_SAMPLES);

/**
 * A lost or late player frame: the last one played again, fading out (no click, no hole in a vowel), then
 * silence if more are missing in a row.
 */
export function concealFrame(last: unknown, consecutive: number): Float32Array | null {
  if (!(last instanceof Float32Array) || consecutive > 1) return null;
  const out = new Float32Array(last.length);
  for (let i = 0; i < out.length; i++) out[i] = last[i]! * 0.7 * (1 - i / out.length);
  return out;
}
