/**
 * Wire payloads of one NPC's voice → 24 kHz frames of exactly 1920 samples, tagged with their frame index.
 * Opus goes through WebCodecs' AudioDecoder, which hands back 48 kHz even for a 24 kHz stream, so its output
 * is resampled; PCM16 converts directly.
 */
import { FRAME_SAMPLES, FRAME_MS, SAMPLE_RATE } from '../../protocol/frame.ts';
import type { Codec } from '../../protocol/codecs.ts';
import { pcm16ToFloat } from '../dsp/pcm16.ts';
import { Resampler } from '../../protocol/dsp/resampler.ts';

export type DeliverFrame = (i: number, samples: Float32Array) => void;

/** Whether this browser can decode Opus with WebCodecs. */
export async function canDecodeOpus(): Promise<boolean> {
  if (typeof AudioDecoder === 'undefined') return false;
  try {
    const r = await AudioDecoder.isConfigSupported({ codec: 'opus', sampleRate: SAMPLE_RATE, numberOfChannels: 1 });
    return r.supported === true;
  } catch {
    return false;
  }
}

/** One WebCodecs decoder and the frame indices of the packets it holds, oldest first. */
interface OpusDecoding {
  dec: AudioDecoder;
  pending: number[];
}

export class VoiceDecoder {
  private opus: OpusDecoding | null = null;
  private resampler: Resampler | null = null;
  private carry = new Float32Array(0);
  private scratch = new Float32Array(0);

  constructor(
    private readonly deliver: DeliverFrame,
    private readonly onError: (err: Error) => void,
  ) {}

  decode(codec: Codec, i: number, data: Uint8Array): void {
    if (codec === 'pcm16') {
      if (data.byteLength !== FRAME_SAMPLES * 2) {
        this.onError(new Error(`pcm16 frame ${i} has ${data.byteLength} bytes, expected ${FRAME_SAMPLES * 2}`));
        return;
      }
      this.deliver(i, pcm16ToFloat(data));
      return;
    }
    const d = this.opusDecoder();
    if (!d) return;
    // Outputs come in decode order, one per packet; their timestamps cannot name the frame (Chromium stamps each
    // output with the first packet's timestamp plus the samples decoded since, so a gap in the indices shifts
    // every later stamp, and rounding puts some a microsecond off), so the index is remembered here.
    d.pending.push(i);
    try {
      d.dec.decode(new EncodedAudioChunk({ type: 'key', timestamp: i * FRAME_MS * 1000, data }));
    } catch (err) {
      d.pending.pop();
      this.onError(new Error(`Opus frame ${i} could not be decoded: ${(err as Error).message}`));
    }
  }

  /**
   * Drop anything still inside the decoder (the NPC was interrupted) and forget resampler history. The decoder
   * is closed, not drained: packets queued before the cut are never decoded, so the frames after it wait on
   * nothing; the next packet opens a fresh one.
   */
  flush(): void {
    this.closeOpus();
    this.resampler?.reset();
    this.carry = new Float32Array(0);
  }

  close(): void {
    this.closeOpus();
  }

  private closeOpus(): void {
    const d = this.opus;
    this.opus = null;
    if (d && d.dec.state !== 'closed') d.dec.close();
  }

  private opusDecoder(): OpusDecoding | null {
    if (this.opus && this.opus.dec.state !== 'closed') return this.opus;
    if (typeof AudioDecoder === 'undefined') {
      this.onError(new Error('this browser has no WebCodecs AudioDecoder; the server should send pcm16'));
      return null;
    }
    const d: OpusDecoding = {
      pending: [],
      dec: new AudioDecoder({
        output: (audio) => this.onDecoded(d, audio),
        error: (e) => {
          if (this.opus !== d) return; // closed by a flush: nothing of it is wanted
          this.onError(new Error(`Opus decoder failed: ${e.message}`));
          this.opus = null; // a fresh decoder on the next packet
        },
      }),
    };
    d.dec.configure({ codec: 'opus', sampleRate: SAMPLE_RATE, numberOfChannels: 1 });
    this.opus = d;
    return d;
  }

  private onDecoded(d: OpusDecoding, audio: AudioData): void {
    try {
      const i = d.pending.shift();
      if (this.opus !== d || i === undefined) return; // from a decoder a flush closed: stale
      const n = audio.numberOfFrames;
      if (this.scratch.length < n) this.scratch = new Float32Array(n);
      const pcm = this.scratch.subarray(0, n);
      audio.copyTo(pcm, { planeIndex: 0, format: 'f32-planar' });
      let at24: Float32Array = pcm;
      if (audio.sampleRate !== SAMPLE_RATE) {
        if (!this.resampler || this.resampler.inRate !== audio.sampleRate) {
          // Opus at 24 kHz carries nothing above 12 kHz already, so a shorter filter does (half the main-thread cost).
          this.resampler = new Resampler(audio.sampleRate, SAMPLE_RATE, { zeroCrossings: 12 });
        }
        at24 = this.resampler.process(pcm);
      }
      this.deliver(i, this.toFrame(at24));
    } finally {
      audio.close();
    }
  }

  /**
   * Exactly one frame out per packet. The resampler's start-up delay leaves the first frame short: pad its
   * front (the stream runs 1 ms late, consistently) and carry any surplus into the next frame.
   */
  private toFrame(samples: Float32Array): Float32Array {
    const frame = new Float32Array(FRAME_SAMPLES);
    const total = this.carry.length + samples.length;
    if (total <= FRAME_SAMPLES) {
      frame.set(this.carry, FRAME_SAMPLES - total);
      frame.set(samples, FRAME_SAMPLES - samples.length);
      this.carry = new Float32Array(0);
    } else {
      const joined = new Float32Array(total);
      joined.set(this.carry);
      joined.set(samples, this.carry.length);
      frame.set(joined.subarray(0, FRAME_SAMPLES));
      this.carry = joined.slice(FRAME_SAMPLES, Math.min(total, FRAME_SAMPLES * 2));
    }
    return frame;
  }
}
