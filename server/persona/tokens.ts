/**
 * Prompt token counting. The model steps once per prompt token when a session starts, so the count is the
 * start-up cost. Exact with the model's SentencePiece file (PersonaPlex: tokenizer_spm_32k_3.model); otherwise a
 * conservative estimate, always labelled as one.
 */
import { readFile } from 'node:fs/promises';

export interface TokenCounter {
  /** true when counted with a real SentencePiece model */
  readonly exact: boolean;
  /** shown next to counts: "exact (tokenizer_spm_32k_3.model)" or "estimate" */
  readonly label: string;
  count(text: string): number;
}

/** The model engines wrap the compiled prompt like PersonaPlex's wrap_with_system_tags; the tags cost tokens too. */
export const SYSTEM_TAG = '<system>';
export function wrapWithSystemTags(prompt: string): string {
  return `${SYSTEM_TAG} ${prompt} ${SYSTEM_TAG}`;
}

/**
 * Errs high on purpose: every letter run costs ceil(length / 3) tokens, every digit one token plus one per digit
 * run, every ASCII punctuation mark one, every other character its UTF-8 bytes plus one (byte fallback). Against a 32k
 * SentencePiece model on English prose this never came out below the exact count and averaged about 1.5× it
 * (see tests/sheets/tokens.test.ts), so a sheet that fits the budget by estimate fits it exactly.
 */
export function estimateTokens(text: string): number {
  let n = 0;
  for (const m of text.matchAll(/[A-Za-z]+|[0-9]+|[^\sA-Za-z0-9]/gu)) {
    const t = m[0];
    const c = t.charCodeAt(0);
    if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) n += Math.ceil(t.length / 3);
    else if (c >= 48 && c <= 57) n += t.length + 1;
    else if (c < 128) n += 1;
    else n += Buffer.byteLength(t) + 1; // byte fallback, plus a possible lone "▁" piece before it
  }
  return n;
}

export const estimateCounter: TokenCounter = { exact: false, label: 'estimate', count: estimateTokens };

interface SentencePieceLike {
  load(path: string): Promise<void>;
  encodeIds(text: string): number[];
}

/**
 * Loads a SentencePiece `.model` file. Rejects with a clear message when the file is missing or not a model.
 * The WASM tokenizer package is imported only here, so servers without a tokenizer never load it.
 */
export async function loadSentencePieceCounter(modelPath: string): Promise<TokenCounter> {
  let bytes: Buffer;
  try {
    bytes = await readFile(modelPath);
  } catch (err) {
    throw new Error(`tokenizer ${modelPath}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message}`);
  }
  if (bytes.length < 16) throw new Error(`tokenizer ${modelPath}: too small to be a SentencePiece model`);
  const { SentencePieceProcessor } = (await import('@sctg/sentencepiece-js')) as unknown as {
    SentencePieceProcessor: new () => SentencePieceLike;
  };
  const sp = new SentencePieceProcessor();
  let probe: number[];
  try {
    await sp.load(modelPath);
    probe = sp.encodeIds('You are here.');
  } catch (err) {
    throw new Error(`tokenizer ${modelPath}: not a SentencePiece model (${String((err as Error)?.message ?? err)})`);
  }
  // the WASM loader accepts some garbage silently and then encodes everything to nothing
  if (!Array.isArray(probe) || probe.length === 0) throw new Error(`tokenizer ${modelPath}: not a SentencePiece model (it encodes text to no tokens)`);
  const name = modelPath.split(/[\\/]/).pop();
  return { exact: true, label: `exact (${name})`, count: (text) => sp.encodeIds(text).length };
}
