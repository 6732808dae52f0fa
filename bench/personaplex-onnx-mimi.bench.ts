/**
 * The engine's Mimi, windowed (whole-utterance graphs re-run on 8 frames, the fallback for plain mobius
 * exports) against streaming (export/mimi_streaming.py graphs with explicit state), on the same Mimi: the
 * reference MimiModel at its real sizes with random weights, exported by
 *   /usr/bin/python3 tests/personaplex-onnx/reference/mimi_streaming_fixtures.py --personaplex DIR --einops DIR \
 *       --full --out /tmp/parley-mimi-full
 * (or PARLEY_MIMI_DIR). Without that folder the module reports nothing.
 *
 * Figures, engine only (MimiBatch on onnxruntime-node's CPU provider, no server):
 * - ms of Mimi compute per tick (encoder and decoder runs, one batched run each) at 1 and 4 sessions, each
 *   way, the two ways alternating tick by tick so that they share the machine's load;
 * - agreement of the encoded codes with the reference's streaming codes over 12 s (150 frames), and SNR of
 *   the decoded audio against the reference's streaming decode, each way.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { DecoderWindow, EncoderWindow, MimiBatch } from '../server/engines/personaplex-onnx/mimi-stream.ts';
import { MIMI_CODEBOOKS } from '../server/engines/personaplex-onnx/constants.ts';
import { readAudio, signal, snrDb, type Reference } from '../tests/personaplex-onnx/reference/mimi-fixtures.ts';

const FRAME = 1920;
const WINDOW = 8;

interface Way {
  name: 'windowed' | 'streaming';
  enc: ort.InferenceSession;
  dec: ort.InferenceSession;
}

/** B sessions of one way, each fed signal A frame by frame. */
function lanes(way: Way, ref: Reference, pcm: Float32Array, B: number) {
  const batch = new MimiBatch(B, WINDOW);
  const encs = Array.from({ length: B }, () => new EncoderWindow(WINDOW));
  const decs = Array.from({ length: B }, () => new DecoderWindow(WINDOW));
  const rows = Array.from({ length: B }, () => new Int32Array(MIMI_CODEBOOKS));
  /** one tick (frame f); returns its ms of encode and decode, and session 0's codes and audio */
  return async (f: number) => {
    for (let b = 0; b < B; b++) {
      encs[b]!.push(pcm.subarray(f * FRAME, (f + 1) * FRAME));
      decs[b]!.push(ref.signals.a.codes[f]!);
    }
    let t0 = performance.now();
    await batch.encode(way.enc, encs, B, rows);
    const enc = performance.now() - t0;
    const wave: Float32Array[] = [];
    t0 = performance.now();
    await batch.decode(way.dec, decs, B, wave);
    return { enc, dec: performance.now() - t0, codes: Array.from(rows[0]!), out: wave[0]! };
  };
}

const median = (x: number[]) => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)]!;

export default async function main(): Promise<Record<string, number>> {
  const dir = process.env.PARLEY_MIMI_DIR ?? '/tmp/parley-mimi-full';
  if (!existsSync(path.join(dir, 'whole', 'mimi_encoder.onnx'))) {
    process.stderr.write(`  no full-size Mimi in ${dir} (see the header of bench/personaplex-onnx-mimi.bench.ts): skipped\n`);
    return {};
  }
  const ref = JSON.parse(await readFile(path.join(dir, 'reference.json'), 'utf8')) as Reference;
  const pcm = signal(ref.signals.a.seconds, ref.signals.a.seed);
  const refAudio = await readAudio(dir, 'a');
  const open = (f: string) => ort.InferenceSession.create(path.join(dir, f));
  const ways: Way[] = [
    { name: 'windowed', enc: await open('whole/mimi_encoder.onnx'), dec: await open('whole/mimi_decoder.onnx') },
    { name: 'streaming', enc: await open('mimi_encoder/model.onnx'), dec: await open('mimi_decoder/model.onnx') },
  ];
  const figures: Record<string, number> = {};
  const frames = ref.signals.a.codes.length;
  for (const way of ways) {
    // Quality over the whole signal, one session.
    const tick = lanes(way, ref, pcm, 1);
    let same = 0;
    let sameSemantic = 0;
    const out = new Float32Array(frames * FRAME);
    for (let f = 0; f < frames; f++) {
      const r = await tick(f);
      r.codes.forEach((v, q) => (same += v === ref.signals.a.codes[f]![q] ? 1 : 0));
      sameSemantic += r.codes[0] === ref.signals.a.codes[f]![0] ? 1 : 0;
      out.set(r.out, f * FRAME);
    }
    figures[`mimi_${way.name}_codes_equal_reference_all8`] = same / (frames * MIMI_CODEBOOKS);
    figures[`mimi_${way.name}_codes_equal_reference_semantic`] = sameSemantic / frames;
    // The windowed decoder starts from silence codes, not the signal's: leave out its first window.
    const skip = WINDOW * FRAME;
    figures[`mimi_${way.name}_decoder_snr_db`] = snrDb(refAudio.subarray(skip), out.subarray(skip));
  }
  // Compute per tick: both ways alternate tick by tick, so that they share the machine's load; medians over
  // the ticks after the first two windows (warm).
  const TICKS = 2 * WINDOW + 16;
  for (const B of [1, 4]) {
    const ticks = ways.map((w) => lanes(w, ref, pcm, B));
    const ms = ways.map(() => ({ enc: [] as number[], dec: [] as number[] }));
    for (let f = 0; f < TICKS; f++) {
      for (let i = 0; i < ways.length; i++) {
        const r = await ticks[i]!(f);
        if (f >= 2 * WINDOW) {
          ms[i]!.enc.push(r.enc);
          ms[i]!.dec.push(r.dec);
        }
      }
    }
    ways.forEach((w, i) => {
      figures[`mimi_${w.name}_encode_ms_per_tick_${B}s`] = median(ms[i]!.enc);
      figures[`mimi_${w.name}_decode_ms_per_tick_${B}s`] = median(ms[i]!.dec);
    });
  }
  process.stderr.write(`  ${JSON.stringify(figures)}\n`);
  for (const w of ways) await Promise.all([w.enc.release(), w.dec.release()]);
  return figures;
}
