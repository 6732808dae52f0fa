/**
 * Character sheets: how long compiling and looking up a sheet takes, what the hot-reload check costs per get(),
 * and the sample cast's prompt sizes (estimate vs exact with the TEST tokenizer, the 32k LLaMA SentencePiece
 * model standing in for PersonaPlex's tokenizer_spm_32k_3.model).
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { compileSheetFile } from '../server/sheets/compile.ts';
import { SheetLibrary } from '../server/sheets/library.ts';
import { estimateCounter, loadSentencePieceCounter } from '../server/persona/tokens.ts';
import { wrapWithSystemTags } from '../server/persona/prompt.ts';
import { CAST_DIR, testTokenizerPath } from '../tests/sheets/helpers.ts';

function timeMs(runs: number, fn: () => void): number {
  fn(); // warm up
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) fn();
  return (performance.now() - t0) / runs;
}

export default async function sheetsBench(): Promise<Record<string, number>> {
  const files = readdirSync(CAST_DIR).filter((f) => f.endsWith('.yaml')).map((f) => path.join(CAST_DIR, f));
  const figures: Record<string, number> = {};

  process.stderr.write('  compiling the cast…\n');
  figures.sheets_compile_ms_per_sheet = timeMs(50, () => {
    for (const f of files) compileSheetFile(f, { counter: estimateCounter });
  }) / files.length;

  const lib = new SheetLibrary({ dir: CAST_DIR });
  lib.get('alex');
  figures.sheets_get_unchanged_us = timeMs(5000, () => lib.get('alex')) * 1000;

  const t0 = performance.now();
  const exact = await loadSentencePieceCounter(await testTokenizerPath());
  figures.sheets_tokenizer_load_ms = performance.now() - t0;

  let est = 0;
  let ex = 0;
  for (const f of files) {
    const sheet = compileSheetFile(f, { counter: exact }).sheet!;
    const wrapped = wrapWithSystemTags(sheet.persona.textPrompt);
    figures[`sheet_${sheet.id}_prompt_tokens_exact_test_tokenizer`] = sheet.tokens.count;
    figures[`sheet_${sheet.id}_prompt_tokens_estimate`] = estimateCounter.count(wrapped);
    est += estimateCounter.count(wrapped);
    ex += sheet.tokens.count;
  }
  figures.sheets_estimate_over_exact_ratio = est / ex;
  const alexPrompt = wrapWithSystemTags(compileSheetFile(files[0]!, { counter: exact }).sheet!.persona.textPrompt);
  figures.sheets_exact_count_us_per_prompt = timeMs(2000, () => exact.count(alexPrompt)) * 1000;
  return figures;
}
