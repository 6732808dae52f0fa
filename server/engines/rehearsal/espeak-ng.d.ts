// The espeak-ng WASM package ships no types; tts.ts narrows what it uses.
declare module '@echogarden/espeak-ng-emscripten' {
  const init: () => Promise<unknown>;
  export default init;
}
