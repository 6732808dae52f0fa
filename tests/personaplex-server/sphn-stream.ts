/**
 * The stand-in server's Ogg Opus streams, as the official PersonaPlex server makes and reads them: sphn 0.1.x's
 * `OpusStreamWriter(24000)` and `OpusStreamReader(24000)` (pinned by moshi's `sphn >= 0.1.4, < 0.2`), whose Ogg
 * layer is the Rust `ogg` crate 0.9. Written for the tests from those sources and independent of Parley's own
 * Ogg and Opus code (server/engines/personaplex-server/ogg*.ts, @evan/opus): the Opus codec is opusscript
 * (libopus in its own wasm build), the Ogg framing is below. A bug shared by both ends of a test would otherwise
 * be invisible.
 *
 * Writer (sphn opus.rs, StreamWriter): libopus at 24 kHz, VOIP; the OpusHead page (pre-skip 3840, input rate
 * 24000) and the OpusTags page (vendor "sphn-pyo3") are made at construction, each its own chunk; then one page
 * per appended frame, one packet per page, granule = 24 kHz samples so far (not 48 kHz as RFC 7845 says),
 * stream serial 42. `read()` hands out one chunk at a time, as `read_bytes()` does.
 *
 * Reader (ogg crate PacketReader + sphn StreamReader): searches for the capture pattern (skipping junk, up to
 * 150 KiB), requires stream structure version 0 and a correct CRC, requires a stream's first page to carry the
 * beginning-of-stream flag (and no later page to), requires continuation flags to match; skips packets that
 * begin with OpusHead or OpusTags wherever they are, and decodes every other packet at 24 kHz *without* applying
 * the pre-skip or the granules. The first error stops it for good (sphn's reader thread ends; the server then
 * closes the socket).
 */
import OpusScript from 'opusscript';

const SAMPLE_RATE = 24_000;
const SERIAL = 42;
const BOS = 0x02;
const CONTINUED = 0x01;
const MAX_JUNK = 150 * 1024;

/** CRC-32 as Ogg defines it (RFC 3533): polynomial 0x04C11DB7, MSB first, no reflection, initial 0, no final xor. */
export function crc32Ogg(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b << 24;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000_0000 ? (crc << 1) ^ 0x04c1_1db7 : crc << 1;
  }
  return crc >>> 0;
}

/** One Ogg page holding one whole packet, as the ogg crate's PacketWriter writes with PacketWriteEndInfo::EndPage. */
export function sphnPage(packet: Uint8Array, granule: number, sequence: number, headerType: number, serial = SERIAL): Uint8Array {
  const lacing: number[] = [];
  let left = packet.length;
  while (left >= 255) {
    lacing.push(255);
    left -= 255;
  }
  lacing.push(left);
  if (lacing.length > 255) throw new Error('packet too large for one page');
  const page = new Uint8Array(27 + lacing.length + packet.length);
  const v = new DataView(page.buffer);
  page.set([0x4f, 0x67, 0x67, 0x53], 0); // "OggS"
  page[4] = 0; // stream structure version
  page[5] = headerType;
  v.setBigUint64(6, BigInt(granule), true);
  v.setUint32(14, serial, true);
  v.setUint32(18, sequence, true);
  page[26] = lacing.length;
  page.set(lacing, 27);
  page.set(packet, 27 + lacing.length);
  v.setUint32(22, crc32Ogg(page), true);
  return page;
}

const ascii = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

function opusHead(): Uint8Array {
  const h = new Uint8Array(19);
  const v = new DataView(h.buffer);
  h.set(ascii('OpusHead'), 0);
  h[8] = 1; // version
  h[9] = 1; // mono
  v.setUint16(10, 3840, true); // sphn writes 3840 whatever the codec's real delay
  v.setUint32(12, SAMPLE_RATE, true);
  v.setInt16(16, 0, true);
  h[18] = 0;
  return h;
}

function opusTags(): Uint8Array {
  const vendor = ascii('sphn-pyo3');
  const t = new Uint8Array(8 + 4 + vendor.length + 4);
  const v = new DataView(t.buffer);
  t.set(ascii('OpusTags'), 0);
  v.setUint32(8, vendor.length, true);
  t.set(vendor, 12);
  v.setUint32(12 + vendor.length, 0, true);
  return t;
}

function toInt16Bytes(pcm: Float32Array): Buffer {
  const out = Buffer.alloc(pcm.length * 2);
  for (let i = 0; i < pcm.length; i++) out.writeInt16LE(Math.round(Math.max(-1, Math.min(1, pcm[i]!)) * 32767), i * 2);
  return out;
}

/** sphn's OpusStreamWriter(24000). */
export class SphnStreamWriter {
  private enc: OpusScript | null = null;
  private chunks: Uint8Array[] = [];
  private sequence = 0;
  /** 24 kHz samples appended so far: sphn's granule position */
  private total = 0;

  constructor() {
    this.chunks.push(sphnPage(opusHead(), 0, this.sequence++, BOS));
    this.chunks.push(sphnPage(opusTags(), 0, this.sequence++, 0));
  }

  appendPcm(pcm: Float32Array): void {
    if (![120, 240, 480, 960, 1920, 2880].includes(pcm.length)) throw new Error(`pcm length ${pcm.length} is not an allowed frame size`);
    this.enc ??= new OpusScript(SAMPLE_RATE, 1, OpusScript.Application.VOIP);
    const packet = this.enc.encode(toInt16Bytes(pcm), pcm.length);
    this.total += pcm.length;
    this.chunks.push(sphnPage(new Uint8Array(packet), this.total, this.sequence++, 0));
  }

  /** The next pending chunk (one page), or null: `read_bytes()`. */
  read(): Uint8Array | null {
    return this.chunks.shift() ?? null;
  }

  close(): void {
    this.enc?.delete();
    this.enc = null;
  }
}

/** sphn's OpusStreamReader(24000) over the ogg crate's PacketReader. */
export class SphnStreamReader {
  private buf = new Uint8Array(0);
  private dec: OpusScript | null = null;
  /** per stream serial: whether its last page ended inside a packet */
  private streams = new Map<number, { continued: boolean; partial: Uint8Array[] }>();
  private pcm: number[] = [];
  /** why the reader stopped, once it has */
  error: string | null = null;
  /** packets skipped as OpusHead/OpusTags, and decoded */
  readonly counts = { headers: 0, audio: 0 };
  /** the granule position of every page read, in order (sphn ignores them; tests look) */
  readonly granules: bigint[] = [];

  append(bytes: Uint8Array): void {
    if (this.error) return;
    const joined = new Uint8Array(this.buf.length + bytes.length);
    joined.set(this.buf, 0);
    joined.set(bytes, this.buf.length);
    this.buf = joined;
    try {
      this.parse();
    } catch (err) {
      this.error = (err as Error).message;
      this.buf = new Uint8Array(0);
    }
  }

  /** Takes the decoded 24 kHz samples so far. */
  readPcm(): Float32Array {
    const out = Float32Array.from(this.pcm);
    this.pcm = [];
    return out;
  }

  close(): void {
    this.dec?.delete();
    this.dec = null;
  }

  private parse() {
    for (;;) {
      const at = findCapture(this.buf);
      if (at < 0) {
        if (this.buf.length > MAX_JUNK) throw new Error('No Ogg capture pattern found');
        return;
      }
      if (at > 0) this.buf = this.buf.subarray(at);
      if (this.buf.length < 27) return;
      if (this.buf[4] !== 0) throw new Error(`invalid stream structure version ${this.buf[4]}`);
      const nseg = this.buf[26]!;
      if (this.buf.length < 27 + nseg) return;
      const lacing = this.buf.subarray(27, 27 + nseg);
      const bodyLen = lacing.reduce((a, b) => a + b, 0);
      const size = 27 + nseg + bodyLen;
      if (this.buf.length < size) return;
      const page = this.buf.slice(0, size);
      this.buf = this.buf.subarray(size);
      this.page(page, lacing.slice(), page.subarray(27 + nseg));
    }
  }

  private page(page: Uint8Array, lacing: Uint8Array, body: Uint8Array) {
    const v = new DataView(page.buffer, page.byteOffset, page.byteLength);
    const stated = v.getUint32(22, true);
    v.setUint32(22, 0, true);
    const actual = crc32Ogg(page);
    v.setUint32(22, stated, true);
    if (stated !== actual) throw new Error('CRC32 hash mismatch');
    const type = page[5]!;
    const serial = v.getUint32(14, true);
    this.granules.push(v.getBigInt64(6, true));
    let s = this.streams.get(serial);
    if (s) {
      if (type & BOS) throw new Error('beginning-of-stream flag on a page of a stream already begun');
      if (Boolean(type & CONTINUED) !== s.continued) throw new Error('continuation flag does not match the previous page');
    } else {
      if (!(type & BOS) || type & CONTINUED) throw new Error("a stream's first page lacks the beginning-of-stream flag");
      s = { continued: false, partial: [] };
      this.streams.set(serial, s);
    }
    let off = 0;
    let seg = 0;
    for (let i = 0; i < lacing.length; i++) {
      seg += lacing[i]!;
      if (lacing[i]! < 255) {
        s.partial.push(body.subarray(off, off + seg));
        this.packet(concat(s.partial));
        s.partial = [];
        off += seg;
        seg = 0;
      }
    }
    if (seg > 0) s.partial.push(body.subarray(off, off + seg)); // the packet goes on in the next page
    s.continued = lacing.length > 0 && lacing[lacing.length - 1] === 255;
  }

  private packet(p: Uint8Array) {
    const magic = Buffer.from(p.subarray(0, 8)).toString('latin1');
    if (magic === 'OpusHead' || magic === 'OpusTags') {
      this.counts.headers++;
      return;
    }
    this.dec ??= new OpusScript(SAMPLE_RATE, 1, OpusScript.Application.VOIP);
    let out: Buffer;
    try {
      out = this.dec.decode(Buffer.from(p));
    } catch (err) {
      throw new Error(`opus decode: ${(err as Error).message}`);
    }
    this.counts.audio++;
    for (let i = 0; i + 1 < out.length; i += 2) this.pcm.push(out.readInt16LE(i) / 32768);
  }
}

function findCapture(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.length; i++) if (b[i] === 0x4f && b[i + 1] === 0x67 && b[i + 2] === 0x67 && b[i + 3] === 0x53) return i;
  return -1;
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// Load and exercise the wasm codec at import: its first use costs hundreds of milliseconds and its first frames
// ~10 ms each (until V8 has optimised the wasm), which inside a conversation would stall the event loop the
// engine under test shares with the stand-in (its health checks time out).
{
  const w = new SphnStreamWriter();
  const r = new SphnStreamReader();
  for (let k = 0; k < 30; k++) w.appendPcm(Float32Array.from({ length: 1920 }, (_, i) => 0.1 * Math.sin(i / 7)));
  for (let c = w.read(); c; c = w.read()) r.append(c);
  w.close();
  r.close();
}
