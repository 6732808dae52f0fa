// Browser ESM bundles: the plugin (Babylon.js and the Colyseus SDK stay external, they are the game's)
// and the sample game (everything bundled, served as static files by the game server).
import * as esbuild from 'esbuild';
import { mkdir } from 'node:fs/promises';

const watch = process.argv.includes('--watch');
const common = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
  sourcemap: true,
  logLevel: 'info',
};

export const builds = [
  {
    ...common,
    entryPoints: { 'parley-plugin': 'plugin/index.ts' },
    outdir: 'dist/plugin',
    minify: true,
    external: ['@babylonjs/core', '@babylonjs/core/*', '@colyseus/sdk'],
    metafile: true,
  },
  {
    ...common,
    entryPoints: { 'sample-game': 'sample-game/main.ts' },
    outdir: 'dist/sample-game',
    minify: true,
  },
];

await mkdir('dist', { recursive: true });
if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
