/**
 * Prompt token counting. The model steps once per prompt token when a session starts, so the count is the
 * start-up cost. Exact with the model's SentencePiece file (PersonaPlex: tokenizer_spm_32k_3.model); otherwise a
 * conservative estimate, always labelled as one.
 */
import { Tokenizer } from './tokenizer.ts';

export interface TokenCounter {
  /** true when counted with a real SentencePiece model */
  readonly exact: boolean;
  /** shown next to counts: "exact (tokenizer_spm_32k_3.model)" or "estimate" */
  readonly label: string;
  count(text: string): number;
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

/** Exact counts with the model's own tokenizer file (see tokenizer.ts for what it checks). */
export async function loadSentencePieceCounter(modelPath: string): Promise<TokenCounter> {
  const tokenizer = await Tokenizer.load(modelPath);
  const name = modelPath.split(/[\\/]/).pop();
  return { exact: true, label: `exact (${name})`, count: (text) => tokenizer.encode(text).length };
}

