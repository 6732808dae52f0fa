/**
 * One-time conversion of PersonaPlex `.pt` voices into token frames for the ONNX engine:
 *
 *   npx tsx server/engines/personaplex-onnx/convert-voices.ts <modelDir> [voicesDir]
 *
 * Reads the temporal graph's embedding tables from <modelDir>/temporal, converts every `<ID>.pt` in voicesDir
 * (default <modelDir>/voices) into `<ID>.voice.json` beside it, and prints how exact each conversion was. The
 * engine also converts on first use; running this ahead of time keeps that cost off the first session.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { graphFile } from './graphs.ts';
import { convertPtVoice, readEmbeddingTables, writeVoiceFrames } from './voices.ts';

const [modelDir, voicesArg] = process.argv.slice(2);
if (!modelDir) {
  console.error('usage: tsx server/engines/personaplex-onnx/convert-voices.ts <modelDir> [voicesDir]');
  process.exit(2);
}
const voicesDir = voicesArg ?? path.join(modelDir, 'voices');
const started = Date.now();
const tables = await readEmbeddingTables(await graphFile(modelDir, 'temporal'));
console.error(`embedding tables: hidden ${tables.hidden}, read in ${((Date.now() - started) / 1000).toFixed(1)} s`);
const files = (await readdir(voicesDir)).filter((f) => f.endsWith('.pt')).sort();
if (files.length === 0) console.error(`no .pt files in ${voicesDir}`);
let failed = 0;
for (const f of files) {
  const t0 = Date.now();
  try {
    const v = await convertPtVoice(path.join(voicesDir, f), '', tables);
    const out = path.join(voicesDir, f.replace(/\.pt$/, '.voice.json'));
    await writeVoiceFrames(out, v);
    console.log(`${f}: ${v.frames.length} frames, max relative residual ${v.maxRelResidual.toExponential(2)}, ${((Date.now() - t0) / 1000).toFixed(1)} s → ${out}`);
  } catch (err) {
    failed++;
    console.error(`${f}: ${(err as Error).message}`);
  }
}
process.exitCode = failed ? 1 : 0;
