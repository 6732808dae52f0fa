/**
 * NpcVoiceBehavior starts lip-sync on its mesh when the NPC's voice is ready (a stand-in ParleySession feeds it),
 * and finds its scene's session when given none.
 */
import { describe, expect, it, vi } from 'vitest';
import { Observable } from '@babylonjs/core/Misc/observable.js';
import { FreeCamera } from '@babylonjs/core/Cameras/freeCamera.js';
import { Vector3 } from '@babylonjs/core/Maths/math.vector.js';
import { MeshBuilder } from '@babylonjs/core/Meshes/meshBuilder.js';
import { NpcVoiceBehavior } from '../../plugin/npc-voice-behavior.ts';
import type { ParleySession } from '../../plugin/session/parley-session.ts';
import { registerSceneSession, unregisterSceneSession } from '../../plugin/session/scene-sessions.ts';
import type { NpcVoice } from '../../plugin/audio/npc-voice.ts';
import type { VisemeTrack } from '../../protocol/visemes.ts';
import { VISEMES } from '../../protocol/visemes.ts';
import { createHead, createScene, FakeStreamClock, influence, OCULUS_NAMES } from './support/babylon-head.ts';

/** Stands in for ParleySession's voices: hands out one voice whose clock the test moves. */
function fakeParley(clock: FakeStreamClock) {
  const voice = {
    npc: 'guard',
    get streamPosition() {
      return clock.streamPosition;
    },
    get playing() {
      return clock.playing;
    },
    sound: { analyzer: { isEnabled: true, getFloatTimeDomainData: () => new Float32Array(128) } },
    onVisemesObservable: new Observable<{ track: VisemeTrack }>(),
    onTextObservable: new Observable<{ i: number; piece: string }>(),
    onInterruptedObservable: new Observable<unknown>(),
  };
  const voices = {
    bind: vi.fn(),
    unbind: vi.fn(),
    getAsync: async () => voice as unknown as NpcVoice,
  };
  return { voice, voices, parley: { voices } as unknown as ParleySession };
}

describe('NpcVoiceBehavior lip-sync', () => {
  it('drives the mesh’s visemes from its voice, and stops on detach', async () => {
    const scene = createScene();
    new FreeCamera('cam', new Vector3(0, 0, -5), scene);
    const head = createHead(scene, OCULUS_NAMES);
    const clock = new FakeStreamClock();
    const { voice, parley } = fakeParley(clock);
    const behavior = new NpcVoiceBehavior('guard', parley, { lipSync: { attackMs: 0, releaseMs: 0 } });
    head.addBehavior(behavior);
    await new Promise<void>((r) => behavior.onVoiceReadyObservable.addOnce(() => r()));
    expect(behavior.lipSync).not.toBeNull();
    voice.onVisemesObservable.notifyObservers({ track: { from: 0, keys: [{ at: 0, v: VISEMES.indexOf('aa') }, { at: 24_000, v: 0 }] } });
    clock.streamPosition = 4800;
    scene.render();
    expect(influence(head, 'viseme_aa')).toBeCloseTo(1, 5);
    head.removeBehavior(behavior);
    expect(influence(head, 'viseme_aa')).toBe(0);
    expect(voice.onVisemesObservable.hasObservers()).toBe(false);
    scene.getEngine().dispose();
  });

  it('stays off without complaint on a node with no mouth, and when turned off', async () => {
    const scene = createScene();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const emitter = MeshBuilder.CreateBox('emitter', {}, scene);
    const a = new NpcVoiceBehavior('guard', fakeParley(new FakeStreamClock()).parley);
    emitter.addBehavior(a);
    await new Promise<void>((r) => a.onVoiceReadyObservable.addOnce(() => r()));
    expect(a.lipSync).toBeNull();
    const head = createHead(scene, OCULUS_NAMES);
    const b = new NpcVoiceBehavior('guard', fakeParley(new FakeStreamClock()).parley, { lipSync: false });
    head.addBehavior(b);
    await new Promise<void>((r) => b.onVoiceReadyObservable.addOnce(() => r()));
    expect(b.lipSync).toBeNull();
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
    scene.getEngine().dispose();
  });
});

describe('NpcVoiceBehavior without a session', () => {
  it("binds to its scene's session once one connects there, not to another scene's", async () => {
    const scene = createScene();
    const other = createScene();
    const head = createHead(scene, OCULUS_NAMES);
    const behavior = new NpcVoiceBehavior('guard', undefined, { lipSync: false });
    head.addBehavior(behavior);
    const elsewhere = fakeParley(new FakeStreamClock());
    registerSceneSession(other, elsewhere.parley);
    expect(elsewhere.voices.bind).not.toHaveBeenCalled();
    const mine = fakeParley(new FakeStreamClock());
    const ready = new Promise<void>((r) => behavior.onVoiceReadyObservable.addOnce(() => r()));
    registerSceneSession(scene, mine.parley);
    await ready;
    expect(mine.voices.bind).toHaveBeenCalledWith('guard', head);
    expect(behavior.voice).toBe(mine.voice);
    head.removeBehavior(behavior);
    expect(mine.voices.unbind).toHaveBeenCalledWith('guard', head);
    // a behavior added later binds at once
    const again = new NpcVoiceBehavior('guard', undefined, { lipSync: false });
    head.addBehavior(again);
    expect(mine.voices.bind).toHaveBeenCalledTimes(2);
    unregisterSceneSession(scene, mine.parley);
    unregisterSceneSession(other, elsewhere.parley);
    scene.getEngine().dispose();
    other.getEngine().dispose();
  });
});
