/**
 * Where the echo canceller's WebAssembly (WebRTC's AEC3) is by default: beside the script that contains this code.
 * In the built bundle that is dist/plugin/webrtc-aec3.wasm (esbuild.config.mjs copies it next to every bundle);
 * run from source, plugin/aec/webrtc-aec3.wasm. A game hosting it elsewhere passes `echoWasmUrl`.
 */
export function defaultAecWasmUrl(): string {
  return new URL('./webrtc-aec3.wasm', import.meta.url).href;
}

/** Fetch the module's bytes (they are posted to the capture worklet, which compiles them). */
export async function loadAecWasm(url: string): Promise<ArrayBuffer> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
  return res.arrayBuffer();
}
