/**
 * Browsers start audio suspended until a user gesture: resume the engine (and anything else that plays, such as
 * the echo loopback's element) on the first pointer, key or touch event. Returns the function that removes it.
 */
import type { AudioEngineV2 } from '@babylonjs/core/AudioV2/abstractAudio/audioEngineV2.js';

export function installAudioUnlock(ctx: AudioContext, engine: AudioEngineV2, alsoResume: () => void): () => void {
  if (typeof document === 'undefined' || ctx.state === 'running') return () => {};
  const events = ['pointerdown', 'keydown', 'touchend'] as const;
  const unlock = () => {
    alsoResume();
    void engine.unlockAsync().then(() => {
      if (ctx.state === 'running') remove();
    });
  };
  const remove = () => events.forEach((e) => document.removeEventListener(e, unlock, true));
  events.forEach((e) => document.addEventListener(e, unlock, true));
  return remove;
}
