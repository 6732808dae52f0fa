import { describe, expect, it } from 'vitest';
import { Observable } from '@babylonjs/core/Misc/observable.js';
import { FreeCamera } from '@babylonjs/core/Cameras/freeCamera.js';
import { Vector3 } from '@babylonjs/core/Maths/math.vector.js';
import type { NpcVoice } from '../../plugin/audio/npc-voice.ts';
import type { VisemeTrack } from '../../protocol/visemes.ts';
import { VISEMES } from '../../protocol/visemes.ts';
import { attachLipSync } from '../../plugin/lipsync/attach.ts';
import { levelFromAnalyzer } from '../../plugin/lipsync/level.ts';
import type { VisemeSource } from '../../plugin/lipsync/voice-binding.ts';
import { NpcCaptions } from '../../plugin/captions/captions.ts';
import { bindCaptions, type TextSource } from '../../plugin/captions/voice-binding.ts';
import { createHead, createScene, FakeClock, influence, OCULUS_NAMES } from './babylon-head.ts';

// the plugin's NpcVoice is what games pass in: it must fit both bindings (checked by the type checker)
type Fits<T, U> = T extends U ? true : false;
const voiceFitsLipSync: Fits<NpcVoice, VisemeSource> = true;
const voiceFitsCaptions: Fits<NpcVoice, TextSource> = true;

function fakeVoice(clock: FakeClock) {
  return {
    get streamPosition() {
      return clock.streamPosition;
    },
    get playing() {
      return clock.playing;
    },
    onVisemesObservable: new Observable<{ track: VisemeTrack }>(),
    onTextObservable: new Observable<{ i: number; piece: string }>(),
    onInterruptedObservable: new Observable<unknown>(),
  };
}

describe('wiring onto a voice', () => {
  it('attachLipSync finds the rig, follows the voice and runs with the scene', () => {
    expect(voiceFitsLipSync && voiceFitsCaptions).toBe(true);
    const scene = createScene();
    new FreeCamera('cam', new Vector3(0, 0, -5), scene);
    const head = createHead(scene, OCULUS_NAMES);
    const clock = new FakeClock();
    const voice = fakeVoice(clock);
    const lips = attachLipSync(voice, head, scene, { attackMs: 0, releaseMs: 0 });
    voice.onVisemesObservable.notifyObservers({ track: { from: 0, keys: [{ at: 0, v: VISEMES.indexOf('U') }, { at: 24_000, v: 0 }] } });
    clock.streamPosition = 4800;
    scene.render();
    expect(influence(head, 'viseme_U')).toBeCloseTo(1, 5);
    lips.dispose();
    expect(influence(head, 'viseme_U')).toBe(0);
    expect(voice.onVisemesObservable.hasObservers()).toBe(false);
    scene.getEngine().dispose();
  });

  it('levelFromAnalyzer enables the analyzer and reads RMS', async () => {
    let enabled = false;
    const analyzer = {
      get isEnabled() {
        return enabled;
      },
      enableAsync: async () => {
        enabled = true;
      },
      getFloatTimeDomainData: () => Float32Array.from({ length: 256 }, (_, i) => (i % 2 ? 0.5 : -0.5)),
    };
    const level = levelFromAnalyzer(analyzer);
    expect(level()).toBe(0);
    await Promise.resolve();
    expect(level()).toBeCloseTo(0.5, 6);
  });

  it('bindCaptions feeds pieces and flushes on interruption', () => {
    const clock = new FakeClock();
    const voice = fakeVoice(clock);
    const captions = new NpcCaptions({ clock, leadFrames: 0 });
    const unbind = bindCaptions(voice, captions);
    voice.onTextObservable.notifyObservers({ i: 0, piece: '▁Copy' });
    voice.onTextObservable.notifyObservers({ i: 2, piece: '▁that' });
    clock.streamPosition = 1920;
    captions.update(16);
    voice.onInterruptedObservable.notifyObservers({});
    clock.streamPosition = 10 * 1920;
    captions.update(16);
    expect(captions.text).toBe('Copy');
    unbind();
    expect(voice.onTextObservable.hasObservers()).toBe(false);
  });
});
