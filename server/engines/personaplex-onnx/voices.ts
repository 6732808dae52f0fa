/**
 * Voice prompts. PersonaPlex ships 18 voices as torch `.pt` files holding, per prompt frame, the summed
 * input embedding the temporal transformer saw (`embeddings` [N,1,1,4096]) and the token ring after the prompt
 * (`cache` [1,17,4]). The mobius temporal graph takes tokens, not embeddings, so a `.pt` voice is converted
 * once into the 17 tokens of each frame: every embedding is a sum of one row from each of the 17 embedding
 * tables of the temporal graph, and the rows are recovered by search (known candidates first for the text and
 * user streams, a full search for the 8 agent codebooks) and checked by the residual. The result,
 * `<ID>.voice.json`, replays through the ordinary graph with identical inputs.
 *
 * WAV voice prompts are Mimi-encoded when a session opens (see the engine).
 */
import { open, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AUDIO_CARD, AUDIO_START, DEP_Q, NUM_STREAMS, RING, SINE_TOKENS, TEXT_CARD, TEXT_PAD, TEXT_START } from './constants.ts';
import { readTorchFile, halfToFloat } from './torch-zip.ts';
import { resampleAligned } from '../../../protocol/dsp/resampler.ts';
import { normaliseLoudness } from './loudness.ts';
import { packedVarints, protoFields } from './onnx-protobuf.ts';

export const VOICE_FORMAT = 'parley-personaplex-voice/1';

/** A `.pt` voice turned into token frames. */
export interface VoiceFrames {
  format: typeof VOICE_FORMAT;
  source: string;
  /** N frames × 17 tokens: the temporal input column of each voice prompt step */
  frames: number[][];
  /** the token ring after the prompt, 17 × 4 stream-major */
  cache: number[];
  /** largest |residual| / |embedding| over the frames, a measure of how exact the conversion was */
  maxRelResidual: number;
}

export interface PtVoice {
  n: number;
  hidden: number;
  embeddings: Float32Array;
  cache: number[];
}

export async function readPtVoice(file: string): Promise<PtVoice> {
  const tensors = readTorchFile(await readFile(file));
  const emb = tensors.get('embeddings');
  const cache = tensors.get('cache');
  if (!emb || !cache) throw new Error(`${file}: a PersonaPlex voice holds 'embeddings' and 'cache' tensors; found ${[...tensors.keys()].join(', ') || 'none'}`);
  const es = emb.shape;
  if (es.length !== 4 || es[1] !== 1 || es[2] !== 1) throw new Error(`${file}: embeddings must be [N,1,1,hidden], found [${es.join(',')}]`);
  const cs = cache.shape;
  if (cs.length !== 3 || cs[0] !== 1 || cs[1] !== NUM_STREAMS || cs[2] !== RING) throw new Error(`${file}: cache must be [1,${NUM_STREAMS},${RING}], found [${cs.join(',')}]`);
  return { n: es[0]!, hidden: es[3]!, embeddings: emb.toFloat32(), cache: cache.toNumbers() };
}

// ---------------------------------------------------------------------------------------------------------
// The temporal graph's embedding tables, read from its initializers.

export interface EmbeddingTables {
  hidden: number;
  /** [32001][hidden] */
  text: Float32Array;
  /** 16 × [2049][hidden] */
  audio: Float32Array[];
}

interface Initializer {
  name: string;
  dims: number[];
  dataType: number;
  raw?: Uint8Array;
  external?: { location: string; offset: number; length?: number };
}

/**
 * Reads the temporal graph's embedding tables: `embed.text_emb.weight` and `embed.emb.{0..15}.weight` (mobius
 * names), else the one [32001, H] table and the sixteen [2049, H] tables in file order.
 */
export async function readEmbeddingTables(temporalFile: string): Promise<EmbeddingTables> {
  const model = await readFile(temporalFile);
  const inits = scanInitializers(model);
  const byName = new Map(inits.map((t) => [t.name, t]));
  let text = byName.get('embed.text_emb.weight');
  let audio = Array.from({ length: DEP_Q }, (_, cb) => byName.get(`embed.emb.${cb}.weight`));
  if (!text || audio.some((a) => !a)) {
    text = inits.find((t) => t.dims.length === 2 && t.dims[0] === TEXT_CARD + 1);
    const audios = inits.filter((t) => t.dims.length === 2 && t.dims[0] === AUDIO_CARD + 1);
    audio = audios.length === DEP_Q ? audios : [];
  }
  if (!text || audio.length !== DEP_Q) {
    throw new Error(`${temporalFile}: could not find the temporal embedding tables (embed.text_emb.weight, embed.emb.0..15.weight)`);
  }
  const hidden = text.dims[1]!;
  const dir = path.dirname(temporalFile);
  return { hidden, text: await tensorData(text, dir), audio: await Promise.all(audio.map((a) => tensorData(a!, dir))) };
}

async function tensorData(t: Initializer, dir: string): Promise<Float32Array> {
  const n = t.dims.reduce((a, b) => a * b, 1);
  let bytes: Uint8Array;
  if (t.raw) bytes = t.raw;
  else if (t.external) {
    const fh = await open(path.join(dir, t.external.location), 'r');
    try {
      const size = n * (t.dataType === 1 ? 4 : 2);
      const b = Buffer.alloc(size);
      await fh.read(b, 0, size, t.external.offset);
      bytes = b;
    } finally {
      await fh.close();
    }
  } else throw new Error(`initializer ${t.name} has no raw or external data`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  if (t.dataType === 1) for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
  else if (t.dataType === 10) for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(i * 2, true));
  else if (t.dataType === 16) for (let i = 0; i < n; i++) out[i] = new Float32Array(new Uint32Array([dv.getUint16(i * 2, true) << 16]).buffer)[0]!;
  else throw new Error(`initializer ${t.name} has unsupported data type ${t.dataType}`);
  return out;
}

/** Minimal protobuf walk: ModelProto.graph (7) → GraphProto.initializer (5) → TensorProto fields. */
function scanInitializers(buf: Uint8Array): Initializer[] {
  const dec = new TextDecoder();
  const out: Initializer[] = [];
  for (const graph of protoFields(buf)) {
    if (graph.num !== 7 || !graph.bytes) continue;
    for (const init of protoFields(graph.bytes)) {
      if (init.num !== 5 || !init.bytes) continue;
      const t: Initializer = { name: '', dims: [], dataType: 0 };
      const ext: Record<string, string> = {};
      let location = 0;
      for (const f of protoFields(init.bytes)) {
        if (f.num === 1) t.dims.push(...(f.bytes ? packedVarints(f.bytes) : [f.value!]));
        else if (f.num === 2 && f.value !== undefined) t.dataType = f.value;
        else if (f.num === 8 && f.bytes) t.name = dec.decode(f.bytes);
        else if (f.num === 9 && f.bytes) t.raw = f.bytes;
        else if (f.num === 14 && f.value !== undefined) location = f.value;
        else if (f.num === 13 && f.bytes) {
          // StringStringEntryProto: key (1), value (2)
          const entry = protoFields(f.bytes);
          const text = (n: number) => dec.decode(entry.find((e) => e.num === n)?.bytes ?? new Uint8Array());
          ext[text(1)] = text(2);
        }
      }
      if (location === 1 || ext.location) t.external = { location: ext.location!, offset: Number(ext.offset ?? 0), length: ext.length ? Number(ext.length) : undefined };
      out.push(t);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Embedding → tokens.

/** Candidate tokens per stream, tried before a full search: what the voice prompt phase feeds. */
function candidates(k: number): number[] {
  if (k === 0) return [TEXT_PAD, TEXT_START];
  if (k >= 9) return [SINE_TOKENS[k - 9]!, AUDIO_START];
  return [];
}

function table(t: EmbeddingTables, k: number) {
  return k === 0 ? t.text : t.audio[k - 1]!;
}

function rows(k: number) {
  return k === 0 ? TEXT_CARD + 1 : AUDIO_CARD + 1;
}

/** argmin over rows r of |residual - T[r]|² = argmax <residual, T[r]> - |T[r]|²/2 */
function bestRow(res: Float32Array, T: Float32Array, H: number, norms: Float32Array, ids: number[] | null, count: number) {
  let best = -1;
  let bestScore = -Infinity;
  const visit = (r: number) => {
    let dot = 0;
    const base = r * H;
    for (let h = 0; h < H; h++) dot += res[h]! * T[base + h]!;
    const score = dot - norms[r]! / 2;
    if (score > bestScore) {
      bestScore = score;
      best = r;
    }
  };
  if (ids) ids.forEach(visit);
  else for (let r = 0; r < count; r++) visit(r);
  return best;
}

function rowNorms(T: Float32Array, H: number, n: number) {
  const out = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let h = 0; h < H; h++) s += T[r * H + h]! ** 2;
    out[r] = s;
  }
  return out;
}

/**
 * Recovers the 17 tokens of each embedding. Throws when a frame cannot be explained by table rows (a voice
 * file for another model, or the wrong temporal graph).
 */
export function embeddingsToFrames(voice: PtVoice, tables: EmbeddingTables, tolerance = 0.02, source = ''): VoiceFrames {
  const H = tables.hidden;
  if (voice.hidden !== H) throw new Error(`voice embeddings have ${voice.hidden} dims, the temporal graph ${H}`);
  const norms = Array.from({ length: NUM_STREAMS }, (_, k) => rowNorms(table(tables, k), H, rows(k)));
  const frames: number[][] = [];
  let maxRel = 0;
  const res = new Float32Array(H);
  const solve = (e: Float32Array, full: boolean) => {
    const tok = new Array<number>(NUM_STREAMS).fill(-1);
    const add = (k: number, sign: number) => {
      if (tok[k]! < 0) return;
      const T = table(tables, k);
      const base = tok[k]! * H;
      for (let h = 0; h < H; h++) res[h] += sign * T[base + h]!;
    };
    res.set(e);
    // Known streams first (text, user), then the agent codebooks; then refine each against the others.
    const order = [0, 9, 10, 11, 12, 13, 14, 15, 16, 1, 2, 3, 4, 5, 6, 7, 8];
    for (let pass = 0; pass < 6; pass++) {
      let changed = false;
      for (const k of order) {
        add(k, +1);
        const cand = candidates(k);
        const t = cand.length && !full ? bestRow(res, table(tables, k), H, norms[k]!, cand, 0) : bestRow(res, table(tables, k), H, norms[k]!, null, rows(k));
        if (t !== tok[k]) changed = true;
        tok[k] = t;
        add(k, -1);
      }
      if (!changed) break;
    }
    let r2 = 0;
    let e2 = 0;
    for (let h = 0; h < H; h++) {
      r2 += res[h]! ** 2;
      e2 += e[h]! ** 2;
    }
    return { tok, rel: Math.sqrt(r2 / (e2 || 1)) };
  };
  for (let n = 0; n < voice.n; n++) {
    const e = voice.embeddings.subarray(n * H, (n + 1) * H);
    // The text and user streams hold known tokens during a voice prompt; search every table only if needed.
    let best = solve(e, false);
    if (best.rel > tolerance) best = solve(e, true);
    maxRel = Math.max(maxRel, best.rel);
    if (best.rel > tolerance) throw new Error(`voice frame ${n} is not a sum of this model's token embeddings (relative residual ${best.rel.toFixed(4)}); wrong model folder for this voice?`);
    frames.push(best.tok);
  }
  return { format: VOICE_FORMAT, source, frames, cache: voice.cache, maxRelResidual: maxRel };
}

export async function convertPtVoice(ptFile: string, temporalFile: string, tables?: EmbeddingTables): Promise<VoiceFrames> {
  const voice = await readPtVoice(ptFile);
  return embeddingsToFrames(voice, tables ?? (await readEmbeddingTables(temporalFile)), 0.02, path.basename(ptFile));
}

export async function readVoiceFrames(file: string): Promise<VoiceFrames> {
  const v = JSON.parse(await readFile(file, 'utf8')) as VoiceFrames;
  if (v.format !== VOICE_FORMAT) throw new Error(`${file} is not a converted PersonaPlex voice (format ${String(v.format)})`);
  if (!Array.isArray(v.frames) || v.frames.some((f) => f.length !== NUM_STREAMS)) throw new Error(`${file}: frames must each hold ${NUM_STREAMS} tokens`);
  if (!Array.isArray(v.cache) || v.cache.length !== NUM_STREAMS * RING) throw new Error(`${file}: cache must hold ${NUM_STREAMS * RING} tokens`);
  return v;
}

export async function writeVoiceFrames(file: string, v: VoiceFrames) {
  await writeFile(file, JSON.stringify(v) + '\n');
}

// ---------------------------------------------------------------------------------------------------------
// WAV voice prompts.

/**
 * Reads a PCM16/24/32 or float32 WAV and prepares it as the reference prepares a voice prompt
 * (`load_voice_prompt`): channel 0 only, resampled to 24 kHz (band-limited, protocol/dsp/resampler.ts), then
 * scaled to -24 LUFS integrated (BS.1770, gated; loudness.ts). Padding the last partial frame and encoding are
 * mimi-stream.ts `encodeClip`'s job: frame by frame from a fresh state with streaming Mimi graphs, as the
 * reference encodes a voice prompt (whole-clip with a mobius export, an approximation).
 */
export async function readWavPrompt(file: string, targetRate = 24000): Promise<Float32Array> {
  const b = await readFile(file);
  if (b.toString('ascii', 0, 4) !== 'RIFF' || b.toString('ascii', 8, 12) !== 'WAVE') throw new Error(`${file} is not a WAV file`);
  let p = 12;
  let fmt: { format: number; channels: number; rate: number; bits: number } | undefined;
  let data: Buffer | undefined;
  while (p + 8 <= b.length) {
    const id = b.toString('ascii', p, p + 4);
    const size = b.readUInt32LE(p + 4);
    const body = b.subarray(p + 8, p + 8 + size);
    if (id === 'fmt ') fmt = { format: body.readUInt16LE(0), channels: body.readUInt16LE(2), rate: body.readUInt32LE(4), bits: body.readUInt16LE(14) };
    if (id === 'data') data = body;
    p += 8 + size + (size & 1);
  }
  if (!fmt || !data) throw new Error(`${file}: WAV without fmt or data chunk`);
  const { channels, rate, bits } = fmt;
  const format = fmt.format === 0xfffe ? (bits === 32 ? 3 : 1) : fmt.format;
  const frameBytes = (bits / 8) * channels;
  const n = Math.floor(data.length / frameBytes);
  const ch0 = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const at = i * frameBytes; // channel 0, as the reference (`sample[0:1]`)
    if (format === 3 && bits === 32) ch0[i] = data.readFloatLE(at);
    else if (format === 1 && bits === 16) ch0[i] = data.readInt16LE(at) / 32768;
    else if (format === 1 && bits === 24) ch0[i] = data.readIntLE(at, 3) / 8388608;
    else if (format === 1 && bits === 32) ch0[i] = data.readInt32LE(at) / 2147483648;
    else throw new Error(`${file}: unsupported WAV encoding (format ${format}, ${bits} bits)`);
  }
  const out = resampleAligned(ch0, rate, targetRate);
  if (out.length < 0.4 * targetRate) throw new Error(`${file}: a voice prompt needs at least 400 ms of audio (loudness is measured over 400 ms blocks)`);
  return normaliseLoudness(out, targetRate, -24);
}
