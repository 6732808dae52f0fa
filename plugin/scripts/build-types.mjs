// Type declarations for the plugin bundle: tsc emits .d.ts for plugin/ (and the protocol types it exports)
// into dist/plugin/types, import specifiers are rewritten from .ts to .js so any TypeScript setup resolves
// them, and dist/plugin/parley-plugin.d.ts re-exports the entry next to the bundle.
import { execFileSync } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const out = path.join(root, 'dist/plugin/types');
const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', path.join(root, 'plugin/tsconfig.types.json')], { stdio: 'inherit' });

async function* walk(dir) {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (p.endsWith('.d.ts')) yield p;
  }
}
let files = 0;
for await (const file of walk(out)) {
  const text = await readFile(file, 'utf8');
  const fixed = text.replace(/(from\s+|import\s*\(\s*)(['"])(\.{1,2}\/[^'"]+)\.ts\2/g, '$1$2$3.js$2');
  if (fixed !== text) await writeFile(file, fixed);
  files++;
}
await writeFile(path.join(root, 'dist/plugin/parley-plugin.d.ts'), "export * from './types/plugin/index.js';\n");
console.log(`plugin types: ${files} declaration files in dist/plugin/types, entry dist/plugin/parley-plugin.d.ts`);
