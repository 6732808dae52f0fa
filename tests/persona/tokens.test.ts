// Token counting: exact with a SentencePiece model (here the TEST tokenizer, see helpers.ts), else an estimate
// that must never come in under the exact count.
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { estimateTokens, loadSentencePieceCounter, type TokenCounter } from '../../server/persona/tokens.ts';
import { wrapWithSystemTags } from '../../server/persona/prompt.ts';
import { tempDir, testTokenizerPath } from '../sheets/helpers.ts';

const SEED = '/work/shared/seed/personaplex-7b-v1-article.txt';
let exact: TokenCounter;
beforeAll(async () => {
  exact = await loadSentencePieceCounter(await testTokenizerPath());
});

describe('token counting', () => {
  it('wraps prompts the way PersonaPlex does, and counts the tags', () => {
    expect(wrapWithSystemTags('You enjoy having a good conversation.')).toBe('<system> You enjoy having a good conversation. <system>');
    const bare = exact.count('You enjoy having a good conversation.');
    const wrapped = exact.count(wrapWithSystemTags('You enjoy having a good conversation.'));
    expect(wrapped).toBeGreaterThan(bare);
    expect(exact.exact).toBe(true);
    expect(exact.label).toBe('exact (test-llama-32k.model)');
  });

  it('the estimate errs high: never below the exact count, sentence by sentence', () => {
    // persona-like sentences with names, numbers, contractions and punctuation, plus the seed article when present
    const corpus = [
      'You are an astronaut on a Mars mission.',
      'Your name is Alex.',
      'You are dealing with a reactor core meltdown.',
      'Several ship systems are failing, and continued instability will lead to catastrophic failure.',
      'You work for CitySan Services, a waste management company. Your name is Ayelen Lucero.',
      "The manual bypass valve is behind panel R-7, and it's stuck.",
      'Coolant loop B lost 40% of its pressure at 03:15 ship time.',
      'You speak in short, clear sentences; you never waste words.',
      'Doctor Okafor runs the med bay on deck 2.',
      'You treat the player as a trusted crewmate — most of the time.',
      'You want the player to fetch the potassium-iodide tablets (the blue cabinet).',
      'Commander Idris Vance must decide whether to abort the landing in 40 minutes.',
      'You enjoy having a good conversation.',
      'You are a wise and friendly teacher. Answer questions or provide advice in a clear and engaging way.',
      'Trash is collected weekly, and recycling every other week; bulk items need 3 days notice.',
    ];
    let seed = '';
    try {
      seed = readFileSync(SEED, 'utf8');
    } catch {
      // the seed article lives outside the repo; the corpus above is enough on its own
    }
    const sentences = [...corpus, ...seed.split(/(?<=[.!?])\s+|\n+/).map((s) => s.trim()).filter((s) => s.length > 20)];
    let est = 0;
    let ex = 0;
    for (const s of sentences) {
      const e = estimateTokens(wrapWithSystemTags(s));
      const x = exact.count(wrapWithSystemTags(s));
      expect(e, s).toBeGreaterThanOrEqual(x);
      est += e;
      ex += x;
    }
    // conservative, but not absurdly so: well under twice the real count overall
    expect(est / ex).toBeLessThan(2);
  });

  it('estimates digits, punctuation and non-ASCII text generously', () => {
    expect(estimateTokens('3090')).toBe(5);
    expect(estimateTokens('Ayelén')).toBeGreaterThanOrEqual(exact.count('Ayelén'));
    expect(estimateTokens('😀')).toBeGreaterThanOrEqual(exact.count('😀'));
    expect(estimateTokens('')).toBe(0);
  });

  it('refuses a missing or bogus tokenizer file with a clear message', async () => {
    const tmp = tempDir();
    try {
      await expect(loadSentencePieceCounter(path.join(tmp.dir, 'none.model'))).rejects.toThrow(/none\.model: file not found/);
      const junk = path.join(tmp.dir, 'junk.model');
      writeFileSync(junk, Buffer.alloc(4096, 7));
      await expect(loadSentencePieceCounter(junk)).rejects.toThrow(/junk\.model: not a SentencePiece model/);
    } finally {
      tmp.cleanup();
    }
  });
});
