/**
 * The model's SentencePiece tokenizer, loaded once for everything that needs it: text → ids for the prompt
 * (through @sctg/sentencepiece-js, the real sentencepiece in WASM) and id → piece for the text stream, read
 * straight from the `.model` protobuf (ModelProto.pieces[i].piece), because the WASM binding exposes no IdToPiece.
 * Rejects with a clear message (naming the file) when the file is missing or not a model. The WASM package is
 * imported only when a tokenizer is loaded, so servers without one never load it.
 */
import { readFile } from 'node:fs/promises';
import type { SentencePieceProcessor } from '@sctg/sentencepiece-js';

export class Tokenizer {
  private constructor(
    private readonly spm: SentencePieceProcessor,
    readonly pieces: string[],
    readonly file: string,
  ) {}

  static async load(file: string): Promise<Tokenizer> {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (err) {
      throw new Error(`tokenizer ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message}`);
    }
    const notAModel = (why: string) => new Error(`tokenizer ${file}: not a SentencePiece model (${why})`);
    if (bytes.length < 16) throw notAModel('too small');
    let pieces: string[];
    try {
      pieces = readPieces(bytes);
    } catch (err) {
      throw notAModel((err as Error).message);
    }
    if (pieces.length === 0) throw notAModel('no pieces');
    const { SentencePieceProcessor } = await import('@sctg/sentencepiece-js');
    const spm = new SentencePieceProcessor();
    let probe: number[];
    try {
      await spm.loadFromB64StringModel(bytes.toString('base64'));
      probe = spm.encodeIds('You are here.');
    } catch (err) {
      throw notAModel(String((err as Error)?.message ?? err));
    }
    // the WASM loader accepts some garbage silently and then encodes everything to nothing
    if (!Array.isArray(probe) || probe.length === 0) throw notAModel('it encodes text to no tokens');
    return new Tokenizer(spm, pieces, file);
  }

  encode(text: string): number[] {
    return this.spm.encodeIds(text);
  }

  piece(id: number): string | undefined {
    return this.pieces[id];
  }
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
