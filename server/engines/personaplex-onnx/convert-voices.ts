/**
 * One-time conversion of PersonaPlex `.pt` voices into token frames for the ONNX engine:
 *
 *   npx parley personaplex voices --onnx-dir <modelDir> [--voices <voicesDir>]
 *   npx tsx server/engines/personaplex-onnx/convert-voices.ts <modelDir> [voicesDir]
 *
 * Reads the temporal graph's embedding tables from <modelDir>/temporal, converts every `<ID>.pt` in voicesDir
 * (default <modelDir>/voices) into `<ID>.voice.json` beside it, and prints how exact each conversion was. The
 * engine also converts on first use (in a side thread, see voice-thread.ts); running this ahead of time keeps
 * that cost off the first session entirely.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { graphFile } from './graphs.ts';
import { convertPtVoice, readEmbeddingTables, writeVoiceFrames } from './voices.ts';

/** Converts every .pt in voicesDir; returns how many failed. */
export async function convertVoiceFolder(modelDir: string, voicesDir: string, out: (l: string) => void, err: (l: string) => void): Promise<number> {
  const started = Date.now();
  const tables = await readEmbeddingTables(await graphFile(modelDir, 'temporal'));
  err(`embedding tables: hidden ${tables.hidden}, read in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const files = (await readdir(voicesDir)).filter((f) => f.endsWith('.pt')).sort();
  if (files.length === 0) err(`no .pt files in ${voicesDir}`);
  let failed = 0;
  for (const f of files) {
    const t0 = Date.now();
    try {
      const v = await convertPtVoice(path.join(voicesDir, f), '', tables);
      const target = path.join(voicesDir, f.replace(/\.pt$/, '.voice.json'));
      await writeVoiceFrames(target, v);
      out(`${f}: ${v.frames.length} frames, max relative residual ${v.maxRelResidual.toExponential(2)}, ${((Date.now() - t0) / 1000).toFixed(1)} s → ${target}`);
    } catch (e) {
      failed++;
      err(`${f}: ${(e as Error).message}`);
    }
  }
  return failed;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const [modelDir, voicesArg] = process.argv.slice(2);
  if (!modelDir) {
    console.error('usage: tsx server/engines/personaplex-onnx/convert-voices.ts <modelDir> [voicesDir]');
    process.exit(2);
  }
  const failed = await convertVoiceFolder(modelDir, voicesArg ?? path.join(modelDir, 'voices'), console.log, console.error);
  process.exitCode = failed ? 1 : 0;
}
