/**
 * Just enough WAV reading to check a custom voice prompt: that it is a RIFF/WAVE file with PCM or float audio,
 * and how long it is (the model steps once per 80 ms of voice prompt when a session starts).
 */
import { closeSync, openSync, readSync } from 'node:fs';

export interface WavInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  durationSec: number;
}

/** Throws an Error whose message says what is wrong with the file. */
export function readWavInfo(file: string): WavInfo {
  const fd = openSync(file, 'r');
  try {
    const read = (pos: number, len: number): Buffer => {
      const buf = Buffer.alloc(len);
      const n = readSync(fd, buf, 0, len, pos);
      return buf.subarray(0, n);
    };
    const head = read(0, 12);
    if (head.length < 12 || head.toString('ascii', 0, 4) !== 'RIFF' || head.toString('ascii', 8, 12) !== 'WAVE') {
      throw new Error('not a WAV file (no RIFF/WAVE header)');
    }
    let pos = 12;
    let fmt: { format: number; channels: number; sampleRate: number; bits: number } | undefined;
    for (let guard = 0; guard < 64; guard++) {
      const ch = read(pos, 8);
      if (ch.length < 8) break;
      const id = ch.toString('ascii', 0, 4);
      const size = ch.readUInt32LE(4);
      if (id === 'fmt ') {
        const f = read(pos + 8, Math.min(size, 40));
        if (f.length < 16) throw new Error('WAV fmt chunk is truncated');
        fmt = { format: f.readUInt16LE(0), channels: f.readUInt16LE(2), sampleRate: f.readUInt32LE(4), bits: f.readUInt16LE(14) };
      } else if (id === 'data') {
        if (!fmt) throw new Error('WAV data comes before its fmt chunk');
        // 1 = PCM, 3 = IEEE float, 0xFFFE = extensible (PCM or float inside)
        if (![1, 3, 0xfffe].includes(fmt.format)) throw new Error(`unsupported WAV encoding (format ${fmt.format}); save as PCM`);
        if (!fmt.channels || !fmt.sampleRate || !fmt.bits) throw new Error('WAV header has zero channels, rate or sample size');
        const frameBytes = fmt.channels * (fmt.bits / 8);
        const durationSec = size / frameBytes / fmt.sampleRate;
        if (!(durationSec > 0)) throw new Error('WAV file has no audio');
        return { sampleRate: fmt.sampleRate, channels: fmt.channels, bitsPerSample: fmt.bits, durationSec };
      }
      pos += 8 + size + (size % 2);
    }
    throw new Error('WAV file has no data chunk');
  } finally {
    closeSync(fd);
  }
}
