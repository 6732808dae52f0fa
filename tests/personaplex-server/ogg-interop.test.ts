/**
 * Our Ogg/Opus framing against independent implementations, both directions: Xiph's opus-tools
 * (opusenc/opusdec/opusinfo, libogg + libopusfile) and FFmpeg (its own Ogg muxer/demuxer). Debian packages
 * `opus-tools` and `ffmpeg`; CI must install them. Without them these tests skip locally, and fail when CI=1.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OggPageReader } from '../../server/engines/personaplex-server/ogg.ts';
import { DownstreamDecoder, UpstreamEncoder } from '../../server/engines/personaplex-server/stream-codec.ts';
import { bestLag, floatToPcm16le, multiTone, pcm16leToFloat, snrDb } from './signals.ts';

function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const tools = ['opusenc', 'opusdec', 'opusinfo', 'ffmpeg'].filter(has);
const missing = ['opusenc', 'opusdec', 'opusinfo', 'ffmpeg'].filter((t) => !tools.includes(t));
if (missing.length && process.env.CI) throw new Error(`CI must install Debian packages opus-tools and ffmpeg (missing: ${missing.join(', ')})`);

const dir = mkdtempSync(path.join(tmpdir(), 'parley-ogg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });

const SECONDS = 2;
const SAMPLES = 24_000 * SECONDS; // 25 frames
const tone = multiTone(SAMPLES);

/** Writes the tone through our encoder and Ogg writer, as a finite file (EOS page, end trimming). */
function ourFile(): string {
  const enc = new UpstreamEncoder();
  const pages: Uint8Array[] = [];
  for (let at = 0; at < SAMPLES; at += 1920) pages.push(...enc.encode(tone.subarray(at, at + 1920)));
  pages.push(...enc.finish(SAMPLES));
  const file = path.join(dir, 'ours.opus');
  writeFileSync(file, Buffer.concat(pages));
  return file;
}

/** Decodes with our reader, feeding the file in small uneven chunks as a socket would. */
function ourDecode(file: string): Float32Array {
  const bytes = new Uint8Array(readFileSync(file));
  const dec = new DownstreamDecoder();
  const frames = [];
  for (let at = 0, step = 97; at < bytes.length; at += step, step = step === 97 ? 1531 : 97) {
    frames.push(...dec.pushAudio(bytes.subarray(at, at + step)));
  }
  const out = new Float32Array(frames.length * 1920);
  frames.forEach((f, i) => out.set(f.pcm, i * 1920));
  return out;
}

function expectSameAudio(decoded: Float32Array, minSamples: number) {
  expect(decoded.length).toBeGreaterThanOrEqual(minSamples);
  const to = Math.min(decoded.length, SAMPLES) - 200;
  expect(bestLag(tone, decoded, 120, 2000, to)).toBe(0); // pre-skip honoured exactly: no shift
  // a perceptual codec at 32-48 kbit/s: ~11 dB on this four-tone signal; a shift of even a few samples drops it below 0
  expect(snrDb(tone, decoded, 2000, to)).toBeGreaterThan(8);
}

describe.skipIf(missing.length > 0)('Ogg Opus interop (opus-tools, ffmpeg)', () => {
  it('opusinfo accepts our stream: valid pages, CRCs, headers and granules, exact length', () => {
    const info = run('opusinfo', [ourFile()]).toString();
    expect(info).not.toMatch(/WARNING|ERROR|Hole in data|granulepos/i);
    expect(info).toMatch(/Channels: 1/);
    expect(info).toMatch(/Original sample rate: 24000 ?Hz/);
    expect(info).toMatch(/Packet duration:\s+80\.0ms \(max\),\s+80\.0ms \(avg\),\s+80\.0ms \(min\)/);
    expect(info).toMatch(/Page duration:\s+80\.0ms \(max\)/);
    expect(info).toMatch(/Playback length: 0m:02\.000s/);
  });

  it('opusdec decodes our stream to the same audio, same length to the sample (pre-skip and end trim)', () => {
    run('opusdec', ['--quiet', '--rate', '24000', '--force-wav', ourFile(), path.join(dir, 'opusdec.wav')]);
    // strip the 44-byte canonical WAV header opusdec writes
    const bytes = new Uint8Array(readFileSync(path.join(dir, 'opusdec.wav')));
    const decoded = pcm16leToFloat(bytes.subarray(44));
    expect(decoded.length).toBe(SAMPLES);
    expectSameAudio(decoded, SAMPLES);
  });

  it('ffmpeg decodes our stream to the same audio, same length to the sample', () => {
    const raw = run('ffmpeg', ['-v', 'error', '-i', ourFile(), '-f', 's16le', '-ar', '24000', '-ac', '1', '-']);
    const decoded = pcm16leToFloat(new Uint8Array(raw));
    expect(decoded.length).toBe(SAMPLES);
    expectSameAudio(decoded, SAMPLES);
  });

  it('we read opusenc output (20 ms packets, many per page, 48 kHz granules) to the same audio', () => {
    const rawIn = path.join(dir, 'in.raw');
    writeFileSync(rawIn, floatToPcm16le(tone));
    const file = path.join(dir, 'opusenc.opus');
    run('opusenc', ['--quiet', '--raw', '--raw-rate', '24000', '--raw-chan', '1', '--bitrate', '48', rawIn, file]);
    // every page's CRC checks out under our reader (it throws on a mismatch)
    const pages = new OggPageReader().push(new Uint8Array(readFileSync(file)));
    expect(pages.length).toBeGreaterThan(2);
    expectSameAudio(ourDecode(file), SAMPLES - 1920);
  });

  it('we read ffmpeg/libopus output with 80 ms packets, as the official server sends', () => {
    const rawIn = path.join(dir, 'in2.raw');
    writeFileSync(rawIn, floatToPcm16le(tone));
    const file = path.join(dir, 'ffmpeg.opus');
    run('ffmpeg', ['-v', 'error', '-y', '-f', 's16le', '-ar', '24000', '-ac', '1', '-i', rawIn, '-c:a', 'libopus', '-b:a', '48k', '-frame_duration', '80', '-page_duration', '80000', file]);
    const pages = new OggPageReader().push(new Uint8Array(readFileSync(file)));
    expect(pages.length).toBeGreaterThanOrEqual(2 + 25);
    expectSameAudio(ourDecode(file), SAMPLES - 1920);
  });
});
