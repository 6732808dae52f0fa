/**
 * Ogg page framing (RFC 3533), written here rather than pulled in: the engine needs only one-packet pages out
 * and a tolerant streaming reader in, and both must be exact about CRCs and lacing.
 */

/** Ogg's CRC32: polynomial 0x04C11DB7, MSB first, initial value 0, no final xor (not the zlib CRC). */
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    t[i] = r >>> 0;
  }
  return t;
})();

export function oggCrc32(bytes: Uint8Array): number {
  let crc = 0;
  for (let i = 0; i < bytes.length; i++) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ bytes[i]!) & 0xff]!) >>> 0;
  return crc >>> 0;
}

export const HEADER_CONTINUED = 0x01;
export const HEADER_BOS = 0x02;
export const HEADER_EOS = 0x04;

export interface OggPage {
  headerType: number;
  /** -1 when no packet ends on this page */
  granule: bigint;
  serial: number;
  sequence: number;
  /** lacing values, one per segment */
  segments: Uint8Array;
  body: Uint8Array;
}

const CAPTURE = [0x4f, 0x67, 0x67, 0x53]; // "OggS"
const HEADER_BYTES = 27;
/** 255 segments of 255 bytes: the most one page can carry */
export const MAX_PAGE_BODY = 255 * 255;

/** Lacing values for one whole packet: runs of 255, then the remainder (a 0 when the length is a multiple). */
function lacing(length: number): number[] {
  const out: number[] = [];
  let left = length;
  while (left >= 255) {
    out.push(255);
    left -= 255;
  }
  out.push(left);
  return out;
}

/** One page holding exactly one complete packet. */
export function writePage(p: { headerType: number; granule: bigint; serial: number; sequence: number; packet: Uint8Array }): Uint8Array {
  const lace = lacing(p.packet.length);
  if (lace.length > 255) throw new Error(`packet of ${p.packet.length} bytes does not fit one Ogg page`);
  const page = new Uint8Array(HEADER_BYTES + lace.length + p.packet.length);
  const view = new DataView(page.buffer);
  page.set(CAPTURE, 0);
  page[4] = 0; // stream structure version
  page[5] = p.headerType;
  view.setBigInt64(6, p.granule, true);
  view.setUint32(14, p.serial >>> 0, true);
  view.setUint32(18, p.sequence >>> 0, true);
  view.setUint32(22, 0, true); // CRC, filled below over the page with this field zero
  page[26] = lace.length;
  page.set(lace, HEADER_BYTES);
  page.set(p.packet, HEADER_BYTES + lace.length);
  view.setUint32(22, oggCrc32(page), true);
  return page;
}

export class OggFormatError extends Error {
  override name = 'OggFormatError';
}

/**
 * Streaming page reader: feed bytes in any chunking, get whole verified pages out. Corrupt input (no capture
 * pattern where a page must start, bad version, CRC mismatch) throws OggFormatError: a live stream that lost
 * sync is not worth resynchronising, the session is failed instead.
 */
export class OggPageReader {
  private buf = new Uint8Array(0);

  push(chunk: Uint8Array): OggPage[] {
    if (chunk.length) {
      const next = new Uint8Array(this.buf.length + chunk.length);
      next.set(this.buf, 0);
      next.set(chunk, this.buf.length);
      this.buf = next;
    }
    const pages: OggPage[] = [];
    let at = 0;
    for (;;) {
      const left = this.buf.length - at;
      if (left < HEADER_BYTES) break;
      for (let i = 0; i < 4; i++) {
        if (this.buf[at + i] !== CAPTURE[i]) throw new OggFormatError('bytes where an Ogg page should start are not "OggS"');
      }
      if (this.buf[at + 4] !== 0) throw new OggFormatError(`unknown Ogg stream structure version ${this.buf[at + 4]}`);
      const nseg = this.buf[at + 26]!;
      if (left < HEADER_BYTES + nseg) break;
      const segments = this.buf.slice(at + HEADER_BYTES, at + HEADER_BYTES + nseg);
      let bodyLen = 0;
      for (const s of segments) bodyLen += s;
      const total = HEADER_BYTES + nseg + bodyLen;
      if (left < total) break;
      const raw = this.buf.slice(at, at + total);
      const view = new DataView(raw.buffer);
      const crc = view.getUint32(22, true);
      view.setUint32(22, 0, true);
      if (oggCrc32(raw) !== crc) throw new OggFormatError('Ogg page CRC mismatch');
      pages.push({
        headerType: raw[5]!,
        granule: view.getBigInt64(6, true),
        serial: view.getUint32(14, true),
        sequence: view.getUint32(18, true),
        segments,
        body: raw.subarray(HEADER_BYTES + nseg),
      });
      at += total;
    }
    if (at > 0) this.buf = this.buf.slice(at);
    return pages;
  }

  /** bytes held waiting for the rest of a page */
  get pending(): number {
    return this.buf.length;
  }
}

/** Reassembles packets from pages (several per page, or one spanning pages) for a single logical stream. */
export class OggPacketAssembler {
  private partial: Uint8Array[] = [];
  private serial: number | null = null;

  /** Complete packets ending on this page, in order. */
  push(page: OggPage): Uint8Array[] {
    if (page.headerType & HEADER_BOS) {
      this.serial = page.serial;
      this.partial = [];
    } else if (this.serial !== null && page.serial !== this.serial) {
      throw new OggFormatError(`Ogg page of stream ${page.serial} inside stream ${this.serial} (multiplexed streams are not supported)`);
    }
    if (this.serial === null) this.serial = page.serial;
    // A page that is not a continuation drops any unfinished packet (a page was lost); a continuation with
    // nothing to continue (we joined mid-packet) drops its leading fragment.
    const orphan = (page.headerType & HEADER_CONTINUED) !== 0 && this.partial.length === 0;
    if (!(page.headerType & HEADER_CONTINUED)) this.partial = [];
    const out: Uint8Array[] = [];
    let at = 0;
    let start = 0;
    let skipping = orphan;
    for (const lace of page.segments) {
      at += lace;
      if (skipping) {
        if (lace < 255) {
          skipping = false;
          start = at;
        }
        continue;
      }
      if (lace < 255) {
        this.partial.push(page.body.subarray(start, at));
        out.push(concat(this.partial));
        this.partial = [];
        start = at;
      }
    }
    if (!skipping && start < at) this.partial.push(page.body.subarray(start, at));
    return out;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!.slice();
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
