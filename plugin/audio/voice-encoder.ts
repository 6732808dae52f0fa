/**
 * Mic frames → wire payloads. Opus through WebCodecs' AudioEncoder (one 80 ms packet per 1920-sample frame,
 * encoded off the main thread by the browser), PCM16 when WebCodecs or its Opus encoder is missing.
 */
import { FRAME_SAMPLES, SAMPLE_RATE } from '../../protocol/frame.ts';
import type { Codec } from '../../protocol/codecs.ts';
import { floatToPcm16 } from '../dsp/pcm16.ts';

export interface EncodedVoice {
  seq: number;
  t: number;
  codec: Codec;
  data: Uint8Array;
}

// Chromium builds an 80 ms packet by repacketizing shorter Opus frames, which fails ("Failed to add to
// Repacketizer") when libopus switches between SILK, hybrid and CELT inside one packet; that happened within
// seconds on a noise-suppressed mic. CELT-only ('lowdelay') never switches modes. Should an encoder still fail,
// OpusEncoder replaces it and drops that frame.
const OPUS_CONFIG = {
  codec: 'opus',
  sampleRate: SAMPLE_RATE,
  numberOfChannels: 1,
  bitrate: 32_000,
  opus: { frameDuration: 80_000, application: 'lowdelay' },
} as const;

const FRAME_US = (FRAME_SAMPLES / SAMPLE_RATE) * 1e6;

/** Whether this browser can encode 80 ms Opus frames at 24 kHz. */
export async function canEncodeOpus(): Promise<boolean> {
  if (typeof AudioEncoder === 'undefined' || typeof AudioData === 'undefined') return false;
  try {
    return (await AudioEncoder.isConfigSupported(OPUS_CONFIG as AudioEncoderConfig)).supported === true;
  } catch {
    return false;
  }
}

export interface VoiceEncoder {
  readonly codec: Codec;
  encode(seq: number, t: number, samples: Float32Array): void;
  close(): void;
}

export class Pcm16Encoder implements VoiceEncoder {
  readonly codec = 'pcm16' as const;
  constructor(private readonly out: (v: EncodedVoice) => void) {}
  encode(seq: number, t: number, samples: Float32Array): void {
    this.out({ seq, t, codec: 'pcm16', data: floatToPcm16(samples) });
  }
  close(): void {}
}

export class OpusEncoder implements VoiceEncoder {
  readonly codec = 'opus' as const;
  private encoder: AudioEncoder;
  private closed = false;
  /** encoders replaced after an error */
  restarts = 0;
  /** capture times by packet timestamp: the encoder hands back the timestamp, not our sequence number */
  private readonly pending = new Map<number, { seq: number; t: number }>();

  constructor(
    private readonly out: (v: EncodedVoice) => void,
    private readonly onError: (err: Error) => void,
  ) {
    this.encoder = this.create();
  }

  private create(): AudioEncoder {
    const encoder: AudioEncoder = new AudioEncoder({
      output: (chunk) => this.onChunk(chunk),
      error: (e) => {
        this.onError(new Error(`Opus encoder failed (replaced; one frame lost): ${e.message}`));
        this.pending.clear();
        if (!this.closed && this.encoder === encoder && this.restarts < 100) {
          this.restarts++;
          this.encoder = this.create();
        }
      },
    });
    encoder.configure(OPUS_CONFIG as AudioEncoderConfig);
    return encoder;
  }

  encode(seq: number, t: number, samples: Float32Array): void {
    if (this.encoder.state !== 'configured') return;
    const timestamp = seq * FRAME_US;
    this.pending.set(timestamp, { seq, t });
    const data = new AudioData({
      format: 'f32',
      sampleRate: SAMPLE_RATE,
      numberOfFrames: samples.length,
      numberOfChannels: 1,
      timestamp,
      data: samples as Float32Array<ArrayBuffer>,
    });
    this.encoder.encode(data);
    data.close();
  }

  private onChunk(chunk: EncodedAudioChunk): void {
    let meta = this.pending.get(chunk.timestamp);
    if (meta) this.pending.delete(chunk.timestamp);
    else {
      // Not on a frame boundary we sent (should not happen with an 80 ms frameDuration): take the oldest.
      const first = this.pending.entries().next();
      if (first.done) return;
      meta = first.value[1];
      this.pending.delete(first.value[0]);
    }
    const data = new Uint8Array(chunk.byteLength);
    chunk.copyTo(data);
    this.out({ seq: meta.seq, t: meta.t, codec: 'opus', data });
  }

  close(): void {
    this.closed = true;
    this.pending.clear();
    if (this.encoder.state !== 'closed') this.encoder.close();
  }
}
