/**
 * The per-session audio codec work, pure and synchronous so it can run in a worker thread or inline:
 * upstream, 80 ms frames → Opus packets → Ogg pages; downstream, Ogg bytes from the server → 80 ms frames, each
 * carrying at most one of the text pieces the server sent alongside.
 */
import { Decoder, Encoder } from '@evan/opus';
import { FRAME_SAMPLES, SAMPLE_RATE } from '../../../protocol/frame.ts';
import { OggOpusReader, OggOpusWriter } from './ogg-opus.ts';

/** 48 kHz samples per 24 kHz sample: Ogg Opus counts time at 48 kHz. */
const TO_48K = 48_000 / SAMPLE_RATE;
const OPUS_GET_LOOKAHEAD = 4027;

function toPcm16(frame: Float32Array): Int16Array {
  const out = new Int16Array(frame.length);
  for (let i = 0; i < frame.length; i++) {
    const s = Math.max(-1, Math.min(1, frame[i]!));
    out[i] = s < 0 ? Math.round(s * 32768) : Math.round(s * 32767);
  }
  return out;
}

export interface UpstreamOptions {
  /** bits per second; Opus voice at 24 kHz is transparent enough for the model well below this */
  bitrate?: number;
  complexity?: number;
  serial?: number;
  /** pre-skip to declare, in 48 kHz samples; default the encoder's real delay */
  preSkip48k?: number;
}

/** A session's codec settings: the upstream encoder's, and the order in which the server sends a step's text and audio. */
export interface CodecOptions extends UpstreamOptions {
  /**
   * 'before-audio' (default): a step's text piece comes just before that step's audio page (NVIDIA's server).
   * 'after-audio': just after it (Kyutai's moshi server); each frame is then held until the next page arrives,
   * so a piece that follows its page can still ride on it (80 ms more latency).
   */
  textOrder?: 'before-audio' | 'after-audio';
}

/** 1920-sample frames in, Ogg pages out: OpusHead and OpusTags pages with the first frame, then a page a frame. */
export class UpstreamEncoder {
  private readonly enc: Encoder;
  private readonly writer: OggOpusWriter;
  /** encoder delay in 48 kHz samples, written as the stream's pre-skip */
  readonly preSkip: number;
  private frames = 0;

  constructor(opts: UpstreamOptions = {}) {
    this.enc = new Encoder({ channels: 1, sample_rate: SAMPLE_RATE, application: 'voip' });
    this.enc.bitrate = opts.bitrate ?? 32_000;
    if (opts.complexity !== undefined) this.enc.complexity = opts.complexity as never;
    this.preSkip = opts.preSkip48k ?? this.enc.ctl(OPUS_GET_LOOKAHEAD) * TO_48K;
    this.writer = new OggOpusWriter({ channels: 1, preSkip: this.preSkip, inputSampleRate: SAMPLE_RATE }, 'parley', opts.serial);
  }

  encode(frame: Float32Array): Uint8Array[] {
    if (frame.length !== FRAME_SAMPLES) throw new Error(`expected a ${FRAME_SAMPLES}-sample frame, got ${frame.length}`);
    this.frames++;
    return this.writer.packet(this.enc.encode(toPcm16(frame)), FRAME_SAMPLES * TO_48K);
  }

  /**
   * Ends a finite stream (files, tests): one more frame of silence flushes the encoder's lookahead, and the EOS
   * page trims the decoded length back to exactly `realSamples` (24 kHz) of audio.
   */
  finish(realSamples = this.frames * FRAME_SAMPLES): Uint8Array[] {
    const silent = this.enc.encode(new Int16Array(FRAME_SAMPLES));
    return this.writer.packet(silent, FRAME_SAMPLES * TO_48K, realSamples * TO_48K);
  }
}

export interface DecodedFrame {
  pcm: Float32Array;
  /** SentencePiece-style: '▁' marks a word start */
  text?: string;
}

/** The official server sends pieces with '▁' already turned into spaces; the engine contract wants '▁' back. */
export function pieceFromWire(text: string): string {
  return text.replace(/ /g, '▁');
}

/**
 * Ogg bytes and text pieces in (in the order the server sent them), 1920-sample frames out. The official server
 * sends a step's text just before that step's audio packet, so a piece rides on the frame that holds most of the
 * next packet's audio (after pre-skip); with `textOrder: 'after-audio'` (Kyutai's server) it rides on the frame
 * holding most of the packet just received, and frames are cut only once the next packet arrives. That holds for
 * a conforming stream (pre-skip = codec delay) and for the official server's (pre-skip of exactly one 80 ms
 * frame). A second piece for the same frame moves to the next one, since a frame carries at most one.
 */
export class DownstreamDecoder {
  private readonly reader = new OggOpusReader();
  private decoder: Decoder | null = null;
  private stream = -1;
  private skipLeft = 0;
  private gain = 1;
  /** decoded samples not yet cut into a frame */
  private pending = new Float32Array(FRAME_SAMPLES * 4);
  private pendingLen = 0;
  /** samples already emitted as frames */
  private emitted = 0;
  private texts: { piece: string; pos: number }[] = [];

  /** 24 kHz samples in the last audio packet, taken as the length of the next one */
  private packetSamples = FRAME_SAMPLES;
  /** where the last packet's audio starts, counting its pre-skipped part (may be negative) */
  private lastPacketStart = 0;
  private readonly textAfterAudio: boolean;

  constructor(opts: Pick<CodecOptions, 'textOrder'> = {}) {
    this.textAfterAudio = opts.textOrder === 'after-audio';
  }

  pushText(piece: string): void {
    const start = this.textAfterAudio ? this.lastPacketStart : this.emitted + this.pendingLen - this.skipLeft;
    this.texts.push({ piece: pieceFromWire(piece), pos: start + this.packetSamples / 2 });
  }

  /** Throws OggFormatError or a decode error on corrupt input. */
  pushAudio(bytes: Uint8Array): DecodedFrame[] {
    const frames: DecodedFrame[] = [];
    for (const { packet, stream, head } of this.reader.push(bytes)) {
      if (stream !== this.stream) {
        this.stream = stream;
        this.decoder = new Decoder({ channels: 1, sample_rate: SAMPLE_RATE });
        this.skipLeft = Math.round(head.preSkip / TO_48K);
        this.gain = Math.pow(10, head.outputGain / (20 * 256));
      }
      let raw: Uint8Array;
      try {
        raw = this.decoder!.decode(packet);
      } catch (err) {
        throw new Error(`corrupt Opus packet from server (${(err as Error).message})`);
      }
      const pcm = new Int16Array(raw.buffer, raw.byteOffset, raw.byteLength >> 1);
      if (pcm.length === 0) throw new Error('Opus packet from server decoded to no audio');
      this.packetSamples = pcm.length;
      // text after audio: the previous packet's piece, if any, has come by now; its frames may go
      if (this.textAfterAudio) while (this.pendingLen >= FRAME_SAMPLES) frames.push(this.cut());
      this.lastPacketStart = this.emitted + this.pendingLen - this.skipLeft;
      let from = 0;
      if (this.skipLeft > 0) {
        from = Math.min(this.skipLeft, pcm.length);
        this.skipLeft -= from;
      }
      this.append(pcm, from);
      if (!this.textAfterAudio) while (this.pendingLen >= FRAME_SAMPLES) frames.push(this.cut());
    }
    return frames;
  }

  private append(pcm: Int16Array, from: number) {
    const n = pcm.length - from;
    if (this.pendingLen + n > this.pending.length) {
      const grown = new Float32Array(Math.max(this.pending.length * 2, this.pendingLen + n));
      grown.set(this.pending.subarray(0, this.pendingLen));
      this.pending = grown;
    }
    for (let i = 0; i < n; i++) this.pending[this.pendingLen + i] = (pcm[from + i]! / 32768) * this.gain;
    this.pendingLen += n;
  }

  private cut(): DecodedFrame {
    const pcm = this.pending.slice(0, FRAME_SAMPLES);
    this.pending.copyWithin(0, FRAME_SAMPLES, this.pendingLen);
    this.pendingLen -= FRAME_SAMPLES;
    const end = this.emitted + FRAME_SAMPLES;
    this.emitted = end;
    const head = this.texts[0];
    if (head && head.pos < end) {
      this.texts.shift();
      return { pcm, text: head.piece };
    }
    return { pcm };
  }
}
