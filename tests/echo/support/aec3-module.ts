/** The plugin's echo canceller module (plugin/aec/webrtc-aec3.wasm), compiled once per test process. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let compiled: WebAssembly.Module | undefined;

export function aec3Module(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../plugin/aec/webrtc-aec3.wasm')));
  return compiled;
}
