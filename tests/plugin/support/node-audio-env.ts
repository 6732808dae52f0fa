/**
 * Makes Babylon's AudioEngineV2 run in Node: node-web-audio-api (a Rust Web Audio implementation) supplies the
 * audio classes as globals, and a few browser names Babylon touches get inert stand-ins. Import this before
 * anything from @babylonjs/core's audio code runs.
 */
import * as webAudio from 'node-web-audio-api';

const g = globalThis as Record<string, unknown>;
for (const [name, value] of Object.entries(webAudio)) {
  if (name !== 'default' && typeof value === 'function' && !(name in g)) g[name] = value;
}
g.navigator ??= {};
g.document ??= {
  addEventListener() {},
  removeEventListener() {},
  createElement() {
    return { style: {}, addEventListener() {}, appendChild() {}, remove() {} };
  },
};
// Babylon's spatial auto-update loops on requestAnimationFrame; the tests update explicitly instead.
g.requestAnimationFrame ??= () => 0;
g.cancelAnimationFrame ??= () => {};

export { webAudio };
