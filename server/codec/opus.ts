/**
 * Opus at 24 kHz mono, one 80 ms packet per frame (libopus codes 80 ms as a multi-frame packet). The native
 * binding ships inside @evan/opus, so nothing is downloaded at install.
 */
import { Decoder, Encoder } from '@evan/opus';
import { FRAME_SAMPLES, SAMPLE_RATE } from '../../protocol/frame.ts';
import { floatToPcm16 } from './pcm16.ts';

export const DEFAULT_OPUS_BITRATE = 24_000;
/**
 * libopus complexity 0–10. The server encodes every NPC frame, and at 24 kbit/s mono speech complexity 1 costs
 * about 40% of the default's CPU for a log-spectral distance within 0.2 dB of it (measured on the bench's
 * voice-like signal: 6.96 dB at 1, 6.77 dB at 10); 0 is clearly worse (7.51 dB).
 */
export const OPUS_COMPLEXITY = 1;
const OPUS_SET_COMPLEXITY_REQUEST = 4010;

export class OpusFrameEncoder {
  private readonly enc: Encoder;

  constructor(bitrate = DEFAULT_OPUS_BITRATE) {
    this.enc = new Encoder({ channels: 1, sample_rate: SAMPLE_RATE, application: 'voip' });
    this.enc.bitrate = bitrate;
    this.enc.ctl(OPUS_SET_COMPLEXITY_REQUEST, OPUS_COMPLEXITY);
  }

  encode(frame: Float32Array): Uint8Array {
    if (frame.length !== FRAME_SAMPLES) throw new Error(`opus encoder wants ${FRAME_SAMPLES} samples, got ${frame.length}`);
    return this.enc.encode(floatToPcm16(frame));
  }
}

/** A packet that decodes but does not hold one 80 ms frame. */
export class FrameSizeError extends Error {
  override name = 'FrameSizeError';
}

export class OpusFrameDecoder {
  private readonly dec = new Decoder({ channels: 1, sample_rate: SAMPLE_RATE });

  /** Throws on a packet libopus rejects or one that does not hold exactly one 80 ms frame. */
  decode(packet: Uint8Array): Float32Array {
    let pcm: Uint8Array;
    try {
      pcm = this.dec.decode(packet);
    } catch (err) {
      throw new Error(`corrupt opus packet (${(err as Error).message})`);
    }
    const samples = pcm.byteLength / 2;
    if (samples !== FRAME_SAMPLES) {
      throw new FrameSizeError(`opus packet holds ${samples} samples (${(samples / 24).toFixed(1)} ms), expected ${FRAME_SAMPLES} (80 ms)`);
    }
    const view = new DataView(pcm.buffer, pcm.byteOffset, pcm.byteLength);
    const out = new Float32Array(FRAME_SAMPLES);
    for (let i = 0; i < FRAME_SAMPLES; i++) out[i] = view.getInt16(i * 2, true) / 32768;
    return out;
  }
}
