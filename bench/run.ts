/**
 * `npm run bench`: runs every bench/*.bench.ts (or those named on the command line), prints one table and
 * writes the same figures to bench/results/latest.json as one object, figure name → number (units in names).
 * Each bench module default-exports an async function returning its figures.
 */
import { readdir, writeFile, mkdir } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = (await readdir(here))
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();

const figures: Record<string, number> = {};
const failures: string[] = [];
for (const file of files) {
  const started = Date.now();
  process.stderr.write(`\n▶ ${file}\n`);
  try {
    const mod = (await import(pathToFileURL(path.join(here, file)).href)) as { default: () => Promise<Record<string, number>> };
    const result = await mod.default();
    for (const [name, value] of Object.entries(result)) figures[name] = value;
    process.stderr.write(`  done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  } catch (err) {
    failures.push(`${file}: ${(err as Error).stack ?? err}`);
    process.stderr.write(`  FAILED: ${(err as Error).message}\n`);
  }
}

const width = Math.max(10, ...Object.keys(figures).map((k) => k.length));
console.log(`\n${'figure'.padEnd(width)}  value`);
console.log(`${'-'.repeat(width)}  ${'-'.repeat(12)}`);
for (const [name, value] of Object.entries(figures)) {
  const shown = Number.isInteger(value) ? String(value) : value.toPrecision(4);
  console.log(`${name.padEnd(width)}  ${shown}`);
}
await mkdir(path.join(here, 'results'), { recursive: true });
await writeFile(path.join(here, 'results', 'latest.json'), JSON.stringify(figures, null, 2) + '\n');
console.log(`\nwrote bench/results/latest.json (${Object.keys(figures).length} figures)`);
if (failures.length) {
  console.error(`\n${failures.length} bench module(s) failed:\n${failures.join('\n')}`);
  process.exitCode = 1;
}
