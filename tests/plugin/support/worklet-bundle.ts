/** Builds the plugin's worklet module (as esbuild.config.mjs does) into a temp file for Node-side tests. */
import * as esbuild from 'esbuild';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export async function buildWorkletFile(): Promise<string> {
  const result = await esbuild.build({
    entryPoints: [path.join(root, 'plugin/worklets/index.ts')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const dir = await mkdtemp(path.join(tmpdir(), 'parley-worklet-'));
  const file = path.join(dir, 'parley-worklets.js');
  await writeFile(file, result.outputFiles[0].text);
  return file;
}
