/**
 * Ogg encapsulation of Opus (RFC 7845): the OpusHead and OpusTags header pages first, then audio. Granule
 * positions count decoded 48 kHz samples whatever the coding rate; the first `preSkip` of them are codec delay,
 * dropped by the decoder, so the playback position is granule − preSkip (RFC 7845 §4). PersonaPlex's server
 * (sphn 0.1.x) counts its granules at 24 kHz instead and writes a pre-skip of 3840; the reader below relies on
 * neither the granules nor the page layout, so it reads that stream and conforming ones alike.
 */
import { HEADER_BOS, HEADER_EOS, OggFormatError, OggPacketAssembler, OggPageReader, writePage } from './ogg.ts';

export interface OpusHead {
  channels: number;
  /** samples at 48 kHz to drop from the start of the decoded stream */
  preSkip: number;
  inputSampleRate: number;
  /** Q7.8 dB */
  outputGain: number;
  mappingFamily: number;
}

const ASCII = new TextEncoder();
const OPUS_HEAD = ASCII.encode('OpusHead');
const OPUS_TAGS = ASCII.encode('OpusTags');

function startsWith(packet: Uint8Array, magic: Uint8Array): boolean {
  if (packet.length < magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (packet[i] !== magic[i]) return false;
  return true;
}

export function isOpusHead(packet: Uint8Array): boolean {
  return startsWith(packet, OPUS_HEAD);
}
export function isOpusTags(packet: Uint8Array): boolean {
  return startsWith(packet, OPUS_TAGS);
}

export function buildOpusHead(h: { channels: number; preSkip: number; inputSampleRate: number }): Uint8Array {
  const out = new Uint8Array(19);
  const v = new DataView(out.buffer);
  out.set(OPUS_HEAD, 0);
  out[8] = 1; // version
  out[9] = h.channels;
  v.setUint16(10, h.preSkip, true);
  v.setUint32(12, h.inputSampleRate, true);
  v.setInt16(16, 0, true); // output gain
  out[18] = 0; // channel mapping family 0: mono or stereo, no table
  return out;
}

export function parseOpusHead(packet: Uint8Array): OpusHead {
  if (!isOpusHead(packet) || packet.length < 19) throw new OggFormatError('malformed OpusHead packet');
  const v = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const version = packet[8]!;
  // RFC 7845 §5.1: the major version is the upper four bits; only 0 is defined.
  if (version >> 4 !== 0) throw new OggFormatError(`unsupported OpusHead version ${version}`);
  const head: OpusHead = {
    channels: packet[9]!,
    preSkip: v.getUint16(10, true),
    inputSampleRate: v.getUint32(12, true),
    outputGain: v.getInt16(16, true),
    mappingFamily: packet[18]!,
  };
  if (head.channels < 1) throw new OggFormatError('OpusHead declares zero channels');
  return head;
}

export function buildOpusTags(vendor: string): Uint8Array {
  const v = ASCII.encode(vendor);
  const out = new Uint8Array(8 + 4 + v.length + 4);
  const view = new DataView(out.buffer);
  out.set(OPUS_TAGS, 0);
  view.setUint32(8, v.length, true);
  out.set(v, 12);
  view.setUint32(12 + v.length, 0, true); // no user comments
  return out;
}

/** Writes one Ogg Opus logical stream, one packet per page. */
export class OggOpusWriter {
  private sequence = 0;
  /** 48 kHz samples of all packets written so far (the pre-skip samples are the first of them) */
  private granule = 0n;
  private headersDone = false;
  private ended = false;
  readonly serial: number;

  constructor(
    private readonly head: { channels: number; preSkip: number; inputSampleRate: number },
    private readonly vendor = 'parley',
    serial?: number,
  ) {
    this.serial = serial ?? (Math.random() * 0x1_0000_0000) >>> 0;
  }

  /** The two header pages; returned once, before the first audio page. */
  private headers(): Uint8Array[] {
    if (this.headersDone) return [];
    this.headersDone = true;
    return [
      writePage({ headerType: HEADER_BOS, granule: 0n, serial: this.serial, sequence: this.sequence++, packet: buildOpusHead(this.head) }),
      writePage({ headerType: 0, granule: 0n, serial: this.serial, sequence: this.sequence++, packet: buildOpusTags(this.vendor) }),
    ];
  }

  /**
   * Pages for one packet of `samples48k` 48 kHz samples (headers first on the first call). `endAt` marks the last
   * page (EOS) and trims the decoded stream to that many 48 kHz samples of real audio (RFC 7845 §4.4).
   */
  packet(packet: Uint8Array, samples48k: number, endAt?: number): Uint8Array[] {
    if (this.ended) throw new Error('Ogg Opus stream already ended');
    const pages = this.headers();
    this.granule += BigInt(samples48k);
    let granule = this.granule;
    let type = 0;
    if (endAt !== undefined) {
      const trimmed = BigInt(this.head.preSkip + endAt);
      if (trimmed > granule) throw new Error('end position lies beyond the audio written');
      granule = trimmed;
      type = HEADER_EOS;
      this.ended = true;
    }
    pages.push(writePage({ headerType: type, granule, serial: this.serial, sequence: this.sequence++, packet }));
    return pages;
  }
}

/**
 * Reads an Ogg Opus stream as it arrives: header packets are checked and consumed, audio packets returned.
 * A new BOS page (a chained stream, e.g. a restarted server-side writer) starts over with its own headers.
 */
export class OggOpusReader {
  private pages = new OggPageReader();
  private packets = new OggPacketAssembler();
  private state: 'head' | 'tags' | 'audio' = 'head';
  head: OpusHead | null = null;
  /** bumps when a new logical stream (new OpusHead) starts, so the decoder can reset */
  streamIndex = -1;

  /** Audio packets completed by these bytes, each tagged with the logical stream it belongs to. */
  push(bytes: Uint8Array): { packet: Uint8Array; stream: number; head: OpusHead }[] {
    const audio: { packet: Uint8Array; stream: number; head: OpusHead }[] = [];
    for (const page of this.pages.push(bytes)) {
      if (page.headerType & HEADER_BOS) this.state = 'head';
      for (const packet of this.packets.push(page)) {
        if (this.state === 'head') {
          this.head = parseOpusHead(packet);
          if (this.head.channels !== 1 && this.head.channels !== 2) {
            throw new OggFormatError(`OpusHead declares ${this.head.channels} channels; mono or stereo expected`);
          }
          if (this.head.mappingFamily !== 0) throw new OggFormatError(`unsupported Opus channel mapping family ${this.head.mappingFamily}`);
          this.streamIndex++;
          this.state = 'tags';
        } else if (this.state === 'tags') {
          if (!isOpusTags(packet)) throw new OggFormatError('second Ogg Opus packet is not OpusTags');
          this.state = 'audio';
        } else {
          audio.push({ packet, stream: this.streamIndex, head: this.head! });
        }
      }
    }
    if (this.state === 'head' && this.head === null && this.pages.pending > 64 * 1024) {
      throw new OggFormatError('no OpusHead within 64 KiB');
    }
    return audio;
  }
}
