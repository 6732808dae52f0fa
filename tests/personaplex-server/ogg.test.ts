import { describe, expect, it } from 'vitest';
import { HEADER_BOS, HEADER_CONTINUED, OggFormatError, OggPacketAssembler, OggPageReader, oggCrc32, writePage } from '../../server/engines/personaplex-server/ogg.ts';
import { OggOpusReader, OggOpusWriter, parseOpusHead } from '../../server/engines/personaplex-server/ogg-opus.ts';
import { DownstreamDecoder, UpstreamEncoder } from '../../server/engines/personaplex-server/stream-codec.ts';
import { multiTone, snrDb } from './signals.ts';

const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

describe('Ogg CRC32', () => {
  it('matches the CRC-32 parameters Ogg specifies (poly 0x04C11DB7, init 0, no reflection, no xor-out)', () => {
    // CRC-32/CKSUM check value 0x765E7680 has xor-out 0xFFFFFFFF; Ogg's variant omits it.
    expect(oggCrc32(new TextEncoder().encode('123456789'))).toBe((0x765e7680 ^ 0xffffffff) >>> 0);
    expect(oggCrc32(new Uint8Array(0))).toBe(0);
  });
});

describe('Ogg pages', () => {
  it('laces a packet of 255·k bytes with a trailing zero and round-trips any size', () => {
    for (const n of [0, 1, 254, 255, 256, 510, 4000]) {
      const page = writePage({ headerType: HEADER_BOS, granule: 1234n, serial: 7, sequence: 3, packet: bytes(n) });
      const [p] = new OggPageReader().push(page);
      expect(p!.granule).toBe(1234n);
      expect(p!.serial).toBe(7);
      expect(p!.sequence).toBe(3);
      expect(p!.segments.length).toBe(Math.floor(n / 255) + 1);
      expect(p!.segments[p!.segments.length - 1]).toBe(n % 255);
      expect([...new OggPacketAssembler().push(p!)[0]!]).toEqual([...bytes(n)]);
    }
  });

  it('reads pages fed one byte at a time', () => {
    const a = writePage({ headerType: HEADER_BOS, granule: 0n, serial: 1, sequence: 0, packet: bytes(300) });
    const b = writePage({ headerType: 0, granule: 5n, serial: 1, sequence: 1, packet: bytes(20, 9) });
    const all = new Uint8Array([...a, ...b]);
    const reader = new OggPageReader();
    const got = [];
    for (const byte of all) got.push(...reader.push(Uint8Array.of(byte)));
    expect(got.map((p) => p.sequence)).toEqual([0, 1]);
    expect(reader.pending).toBe(0);
  });

  it('rejects a flipped bit (CRC) and bytes that are not a page', () => {
    const page = writePage({ headerType: 0, granule: 0n, serial: 1, sequence: 0, packet: bytes(50) });
    page[40] ^= 0x10;
    expect(() => new OggPageReader().push(page)).toThrow(/CRC mismatch/);
    expect(() => new OggPageReader().push(new TextEncoder().encode('this is not an ogg stream at all'))).toThrow(OggFormatError);
  });

  it('joins a packet continued over two pages', () => {
    const packet = bytes(600);
    // page 1 carries 510 bytes (two 255 laces, no terminator); page 2 continues with the last 90
    const first = new Uint8Array([...writePage({ headerType: 0, granule: -1n, serial: 1, sequence: 0, packet: packet.subarray(0, 510) })]);
    // hand-build: drop the terminating 0 lace of the first page
    const head1 = first.subarray(0, 27);
    head1[26] = 2;
    const p1 = new Uint8Array([...head1, 255, 255, ...packet.subarray(0, 510)]);
    new DataView(p1.buffer).setUint32(22, 0, true);
    new DataView(p1.buffer).setUint32(22, oggCrc32(p1), true);
    const p2 = writePage({ headerType: HEADER_CONTINUED, granule: 10n, serial: 1, sequence: 1, packet: packet.subarray(510) });
    const reader = new OggPageReader();
    const asm = new OggPacketAssembler();
    const pages = reader.push(new Uint8Array([...p1, ...p2]));
    expect(asm.push(pages[0]!)).toEqual([]);
    const [joined] = asm.push(pages[1]!);
    expect([...joined!]).toEqual([...packet]);
  });
});

describe('Ogg Opus stream', () => {
  it('writes OpusHead (BOS) and OpusTags pages first, then one page per 80 ms packet with 48 kHz granules', () => {
    const enc = new UpstreamEncoder({ serial: 99 });
    const tone = multiTone(1920 * 3);
    const pages = [0, 1, 2].flatMap((k) => enc.encode(tone.subarray(k * 1920, (k + 1) * 1920)));
    expect(pages.length).toBe(5);
    const parsed = pages.map((p) => new OggPageReader().push(p)[0]!);
    expect(parsed[0]!.headerType & HEADER_BOS).toBeTruthy();
    const head = parseOpusHead(parsed[0]!.body);
    expect(head).toMatchObject({ channels: 1, inputSampleRate: 24000, preSkip: enc.preSkip });
    expect(new TextDecoder().decode(parsed[1]!.body.subarray(0, 8))).toBe('OpusTags');
    expect(parsed.map((p) => p.granule)).toEqual([0n, 0n, 3840n, 7680n, 11520n]);
    expect(parsed.map((p) => p.sequence)).toEqual([0, 1, 2, 3, 4]);
    expect(parsed.every((p) => p.serial === 99)).toBe(true);
    expect(parsed.slice(2).every((p) => p.segments.length <= 2)).toBe(true); // one packet each
  });

  const roundTrip = (preSkip48k?: number) => {
    const enc = new UpstreamEncoder({ preSkip48k });
    const dec = new DownstreamDecoder();
    const tone = multiTone(1920 * 20);
    const out: { pcm: Float32Array; text?: string }[] = [];
    for (let k = 0; k < 20; k++) {
      if (k === 5) dec.pushText(' hello');
      if (k === 6) {
        dec.pushText(' wor');
        dec.pushText('ld'); // two pieces before one packet: the second moves on to the next frame
      }
      for (const page of enc.encode(tone.subarray(k * 1920, (k + 1) * 1920))) out.push(...dec.pushAudio(page));
    }
    const joined = new Float32Array(out.length * 1920);
    out.forEach((f, i) => joined.set(f.pcm, i * 1920));
    return { enc, tone, out, joined, texts: out.map((f, i) => [i, f.text]).filter(([, t]) => t) };
  };

  it('round-trips through our own reader and decoder; pre-skip removed, so output lines up with input', () => {
    const { tone, out, joined, texts } = roundTrip();
    expect(out.length).toBe(19); // the encoder delay (pre-skip) holds back the last part-frame
    expect(snrDb(tone, joined, 1920, out.length * 1920)).toBeGreaterThan(10);
    // a piece rides on the frame holding its packet's audio; '▁' restored for word starts
    expect(texts).toEqual([[5, '▁hello'], [6, '▁wor'], [7, 'ld']]);
  });

  it("pins text the same way on a stream shaped like the official server's (pre-skip of one whole frame)", () => {
    const { out, texts } = roundTrip(3840);
    expect(out.length).toBe(19); // the first packet is all pre-skip
    expect(texts).toEqual([[4, '▁hello'], [5, '▁wor'], [6, 'ld']]); // packet k is output frame k-1
  });

  it('reads a stream whose header pages and audio arrive in arbitrary chunks', () => {
    const w = new OggOpusWriter({ channels: 1, preSkip: 0, inputSampleRate: 24000 });
    const stream = new Uint8Array([...w.packet(bytes(40), 3840).flatMap((p) => [...p]), ...w.packet(bytes(41), 3840).flatMap((p) => [...p])]);
    const r = new OggOpusReader();
    const got = [];
    for (let i = 0; i < stream.length; i += 7) got.push(...r.push(stream.subarray(i, i + 7)));
    expect(got.map((g) => g.packet.length)).toEqual([40, 41]);
  });

  it('rejects a stream that does not begin with OpusHead', () => {
    const page = writePage({ headerType: HEADER_BOS, granule: 0n, serial: 1, sequence: 0, packet: bytes(30) });
    expect(() => new DownstreamDecoder().pushAudio(page)).toThrow(/OpusHead/);
  });
});
