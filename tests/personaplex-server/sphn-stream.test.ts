/**
 * The stand-in server's own Ogg Opus code (sphn-stream.ts) checked against third implementations, so that it is
 * an independent witness of Parley's: its pages decode with FFmpeg, it reads opusenc's files, and it is as
 * strict as the ogg crate (BOS, CRC, version). It shares no code with Parley's codec (checked on its imports).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { crc32Ogg, SphnStreamReader, SphnStreamWriter, sphnPage } from './sphn-stream.ts';
import { bestLag, floatToPcm16le, multiTone, pcm16leToFloat, snrDb } from './signals.ts';

const has = (cmd: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const tools = { ffmpeg: has('ffmpeg'), opusenc: has('opusenc') };
if ((!tools.ffmpeg || !tools.opusenc) && process.env.CI) throw new Error('CI must install Debian packages opus-tools and ffmpeg');
const dir = mkdtempSync(path.join(tmpdir(), 'parley-sphn-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SAMPLES = 24_000 * 2;
const signal = multiTone(SAMPLES);

let encoded: string | null = null;
/** The signal through opusenc (libopus + libogg), 20 ms frames, once. */
function opusencFile(): string {
  if (encoded) return encoded;
  const raw = path.join(dir, 'in.raw');
  writeFileSync(raw, floatToPcm16le(signal));
  encoded = path.join(dir, 'opusenc.opus');
  execFileSync('opusenc', ['--quiet', '--raw', '--raw-rate', '24000', '--raw-chan', '1', '--framesize', '20', raw, encoded]);
  return encoded;
}

function writeAll(): { chunks: Uint8Array[] } {
  const w = new SphnStreamWriter();
  for (let at = 0; at < SAMPLES; at += 1920) w.appendPcm(signal.subarray(at, at + 1920));
  const chunks: Uint8Array[] = [];
  for (let c = w.read(); c; c = w.read()) chunks.push(c);
  w.close();
  return { chunks };
}

describe("the stand-in's sphn-style Ogg Opus stream", () => {
  it('is made as sphn makes it: two header chunks (OpusHead with pre-skip 3840 at 24 kHz, OpusTags), then a page a frame with 24 kHz granules', () => {
    const { chunks } = writeAll();
    expect(chunks).toHaveLength(2 + SAMPLES / 1920);
    const head = Buffer.from(chunks[0]!);
    expect(head.toString('latin1', 0, 4)).toBe('OggS');
    expect(head[5]).toBe(0x02); // BOS
    expect(head.readUInt32LE(14)).toBe(42);
    const body = head.subarray(27 + head[26]!);
    expect(body.toString('latin1', 0, 8)).toBe('OpusHead');
    expect(body.readUInt16LE(10)).toBe(3840);
    expect(body.readUInt32LE(12)).toBe(24_000);
    const tags = Buffer.from(chunks[1]!);
    expect(tags[5]).toBe(0);
    expect(tags.subarray(27 + tags[26]!).toString('latin1', 0, 8)).toBe('OpusTags');
    chunks.slice(2).forEach((c, k) => expect(Buffer.from(c).readBigInt64LE(6)).toBe(BigInt((k + 1) * 1920)));
  });

  it('round-trips through its own reader with every sample, pre-skip not applied (as sphn reads)', () => {
    const { chunks } = writeAll();
    const r = new SphnStreamReader();
    for (const c of chunks) r.append(c);
    expect(r.error).toBeNull();
    const pcm = r.readPcm();
    expect(pcm.length).toBe(SAMPLES); // all of it: sphn ignores pre-skip and granules
    expect(r.counts).toEqual({ headers: 2, audio: SAMPLES / 1920 });
    const lag = bestLag(signal, pcm, 400, 4000, 40_000);
    expect(lag).toBeGreaterThan(0); // the codec's lookahead, kept
    // libopus at its default rate (~25 kbit/s here, sphn sets none): ~7.5 dB on this four-tone signal; misaligned, below 0
    expect(snrDb(signal.subarray(0, SAMPLES - lag), pcm.subarray(lag), 4000, 40_000)).toBeGreaterThan(5);
  });

  it.skipIf(!tools.ffmpeg)('decodes with FFmpeg (its own Ogg demuxer and Opus decoder)', () => {
    const file = path.join(dir, 'sphn.opus');
    writeFileSync(file, Buffer.concat(writeAll().chunks));
    const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 's16le', '-ac', '1', '-ar', '24000', '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const pcm = pcm16leToFloat(new Uint8Array(raw));
    // FFmpeg applies the (overstated) pre-skip of 3840 at 48 kHz: one 80 ms frame of audio is gone
    const lag = bestLag(signal, pcm, 2400, 6000, 30_000);
    expect(Math.abs(lag + 1920)).toBeLessThan(400);
    expect(snrDb(signal.subarray(-lag), pcm, 6000, 30_000)).toBeGreaterThan(5);
  });

  it.skipIf(!tools.opusenc)("reads opusenc's stream (libogg's pages and CRCs), fed in uneven pieces", () => {
    const bytes = new Uint8Array(readFileSync(opusencFile()));
    const r = new SphnStreamReader();
    for (let at = 0, step = 61; at < bytes.length; at += step, step = step === 61 ? 977 : 61) r.append(bytes.subarray(at, at + step));
    expect(r.error).toBeNull();
    expect(r.counts.headers).toBe(2);
    const pcm = r.readPcm();
    expect(pcm.length).toBeGreaterThanOrEqual(SAMPLES);
    const lag = bestLag(signal, pcm, 1200, 6000, 40_000);
    expect(snrDb(signal.subarray(0, SAMPLES - Math.max(0, lag)), pcm.subarray(Math.max(0, lag)), 6000, 40_000)).toBeGreaterThan(12);
  });

  it('is as strict as the ogg crate: no BOS on a new stream, a bad CRC, a wrong version, a second BOS each stop it', () => {
    const pkt = new Uint8Array([0xf8, 0xff, 0xfe]);
    const cases: [string, Uint8Array[], RegExp][] = [
      ['no BOS', [sphnPage(pkt, 960, 0, 0)], /lacks the beginning-of-stream flag/],
      ['bad CRC', [(() => { const p = sphnPage(pkt, 960, 0, 0x02); p[p.length - 1]! ^= 0xff; return p; })()], /CRC32/],
      ['version', [(() => { const p = sphnPage(pkt, 960, 0, 0x02); p[4] = 1; return p; })()], /structure version/],
      ['second BOS', [sphnPage(pkt, 0, 0, 0x02), sphnPage(pkt, 960, 1, 0x02)], /already begun/],
    ];
    for (const [what, pages, err] of cases) {
      const r = new SphnStreamReader();
      for (const p of pages) r.append(p);
      expect(r.error, what).toMatch(err);
    }
    // junk before a page is skipped, as the crate searches for the capture pattern
    const r = new SphnStreamReader();
    r.append(new Uint8Array([1, 2, 3, ...sphnPage(new TextEncoder().encode('OpusHead........'), 0, 0, 0x02)]));
    expect(r.error).toBeNull();
    expect(r.counts.headers).toBe(1);
  });

  it.skipIf(!tools.opusenc)("computes Ogg's CRC (checked against a page libogg wrote)", () => {
    const page = new Uint8Array(readFileSync(opusencFile())).slice(0, 47); // the OpusHead page: 27 + 1 + 19 bytes
    const stated = new DataView(page.buffer).getUint32(22, true);
    page.fill(0, 22, 26);
    expect(crc32Ogg(page)).toBe(stated);
  });

  it("shares no code with Parley's codec", () => {
    const src = readFileSync(new URL('./sphn-stream.ts', import.meta.url), 'utf8');
    const imports = [...src.matchAll(/^import .* from '([^']+)'/gm)].map((m) => m[1]);
    expect(imports).toEqual(['opusscript']);
    const standIn = readFileSync(new URL('./stand-in-server.ts', import.meta.url), 'utf8');
    expect(standIn).not.toMatch(/personaplex-server\/(ogg|ogg-opus|stream-codec)\.ts|@evan\/opus|server\/codec/);
  });
});
