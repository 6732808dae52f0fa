// Browser ESM bundles: the plugin (Babylon.js and the Colyseus SDK stay external, they are the game's)
// and the sample game (everything bundled, served as static files by the game server).
import * as esbuild from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';

const watch = process.argv.includes('--watch');
const common = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
  sourcemap: true,
  logLevel: 'info',
};

// The plugin's AudioWorklet processors (capture, playback). Built first: the plugin bundle inlines this code
// and loads it from a Blob URL, so a game ships one file. parley-worklets.js is also written next to it for
// pages whose Content-Security-Policy forbids blob: (they pass `workletUrl`). Under --watch, restart after
// changing plugin/worklets or plugin/dsp.
const pluginWorklets = {
  ...common,
  entryPoints: { 'parley-worklets': 'plugin/worklets/index.ts' },
  outdir: 'dist/plugin',
  format: 'iife',
  minify: true,
  sourcemap: false,
};
const workletBuild = await esbuild.build({ ...pluginWorklets, write: false, logLevel: 'silent' });
const workletSource = workletBuild.outputFiles.find((f) => f.path.endsWith('.js')).text;

export const builds = [
  {
    ...common,
    entryPoints: { 'parley-plugin': 'plugin/index.ts' },
    outdir: 'dist/plugin',
    minify: true,
    external: ['@babylonjs/core', '@babylonjs/core/*', '@colyseus/sdk'],
    metafile: true,
    define: { __PARLEY_WORKLET_SOURCE__: JSON.stringify(workletSource) },
  },
  pluginWorklets,
  {
    ...common,
    entryPoints: { 'sample-game': 'sample-game/main.ts' },
    outdir: 'dist/sample-game',
    minify: true,
  },
];

await mkdir('dist', { recursive: true });
// The echo canceller (WebRTC's AEC3 in WebAssembly, 251 KB, 98 KB gzipped) is fetched at run time from beside
// each bundle that contains the plugin, with its licences (plugin/aec/COPYING.webrtc: BSD, patent grant, Apache-2.0).
for (const dir of ['dist/plugin', 'dist/sample-game']) {
  await mkdir(dir, { recursive: true });
  await copyFile('plugin/aec/webrtc-aec3.wasm', `${dir}/webrtc-aec3.wasm`);
  await copyFile('plugin/aec/COPYING.webrtc', `${dir}/webrtc-aec3-COPYING`);
}
if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
