/**
 * The model's SentencePiece tokenizer: text → ids for the prompt (through @sctg/sentencepiece-js, the real
 * sentencepiece in WASM) and id → piece for the text stream, read straight from the `.model` protobuf
 * (ModelProto.pieces[i].piece), because the WASM binding exposes no IdToPiece.
 */
import { readFile } from 'node:fs/promises';
import { SentencePieceProcessor } from '@sctg/sentencepiece-js';

export class Tokenizer {
  private constructor(
    private readonly spm: SentencePieceProcessor,
    readonly pieces: string[],
  ) {}

  static async load(file: string): Promise<Tokenizer> {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (err) {
      throw new Error(`SentencePiece model not found at ${file} (${(err as Error).message})`);
    }
    const pieces = readPieces(bytes);
    if (pieces.length === 0) throw new Error(`${file} is not a SentencePiece model (no pieces)`);
    const spm = new SentencePieceProcessor();
    await spm.loadFromB64StringModel(bytes.toString('base64'));
    return new Tokenizer(spm, pieces);
  }

  encode(text: string): number[] {
    return this.spm.encodeIds(text);
  }

  piece(id: number): string | undefined {
    return this.pieces[id];
  }
}

/** PersonaPlex `wrap_with_system_tags`: `<system> {text} <system>` (both tags the same). */
export function wrapWithSystemTags(text: string): string {
  const t = text.trim();
  return t.startsWith('<system>') && t.endsWith('<system>') ? t : `<system> ${t} <system>`;
}

/** Minimal protobuf walk: field 1 of ModelProto (repeated SentencePiece), field 1 of each (piece string). */
function readPieces(buf: Uint8Array): string[] {
  const out: string[] = [];
  const dec = new TextDecoder();
  let i = 0;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      if (i >= buf.length) throw new Error('truncated SentencePiece model');
      const b = buf[i++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
  };
  const skip = (wire: number) => {
    if (wire === 0) varint();
    else if (wire === 1) i += 8;
    else if (wire === 2) {
      const n = varint();
      i += n;
    }
    else if (wire === 5) i += 4;
    else throw new Error(`unsupported protobuf wire type ${wire}`);
  };
  while (i < buf.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 1 && wire === 2) {
      const len = varint();
      const end = i + len;
      let piece = '';
      while (i < end) {
        const k = varint();
        if (k >> 3 === 1 && (k & 7) === 2) {
          const l = varint();
          piece = dec.decode(buf.subarray(i, i + l));
          i += l;
        } else skip(k & 7);
      }
      i = end;
      out.push(piece);
    } else skip(wire);
  }
  return out;
}
