import { describe, expect, it } from 'vitest';
import { FreeCamera } from '@babylonjs/core/Cameras/freeCamera.js';
import { Vector3 } from '@babylonjs/core/Maths/math.vector.js';
import type { NpcVoice } from '../../../plugin/audio/npc-voice.ts';
import { VISEMES } from '../../../protocol/visemes.ts';
import { attachLipSync } from '../../../plugin/lipsync/attach.ts';
import type { VisemeSource } from '../../../plugin/lipsync/voice-binding.ts';
import { createHead, createScene, FakeStreamClock, influence, OCULUS_NAMES } from '../support/babylon-head.ts';
import { fakeVoice } from '../support/fake-voice.ts';

// the plugin's NpcVoice is what games pass in: it must fit the binding (checked by the type checker)
type Fits<T, U> = T extends U ? true : false;
const voiceFitsLipSync: Fits<NpcVoice, VisemeSource> = true;

describe('wiring onto a voice', () => {
  it('attachLipSync finds the rig, follows the voice and runs with the scene', () => {
    expect(voiceFitsLipSync).toBe(true);
    const scene = createScene();
    new FreeCamera('cam', new Vector3(0, 0, -5), scene);
    const head = createHead(scene, OCULUS_NAMES);
    const clock = new FakeStreamClock();
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
});
