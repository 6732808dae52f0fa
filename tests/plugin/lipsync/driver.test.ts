import { afterEach, describe, expect, it } from 'vitest';
import { Observable } from '@babylonjs/core/Misc/observable.js';
import { TransformNode } from '@babylonjs/core/Meshes/transformNode.js';
import { Quaternion, Vector3 } from '@babylonjs/core/Maths/math.vector.js';
import { FreeCamera } from '@babylonjs/core/Cameras/freeCamera.js';
import type { Scene } from '@babylonjs/core/scene.js';
import { VISEMES, type VisemeTrack } from '../../../protocol/visemes.ts';
import { VisemeSchedule } from '../../../plugin/lipsync/schedule.ts';
import { visemeWeightsAt } from '../../../plugin/lipsync/coarticulation.ts';
import { LipSyncDriver } from '../../../plugin/lipsync/driver.ts';
import { createLipSyncRig, normalizeTargetName } from '../../../plugin/lipsync/rigs.ts';
import { bindLipSync } from '../../../plugin/lipsync/voice-binding.ts';
import { createHead, createScene, FakeStreamClock, influence, OCULUS_NAMES } from '../support/babylon-head.ts';

const V = (name: (typeof VISEMES)[number]) => VISEMES.indexOf(name);
const ms = (x: number) => Math.round(x * 24);

let scene: Scene | undefined;
afterEach(() => {
  scene?.getEngine().dispose();
  scene = undefined;
});

describe('VisemeSchedule', () => {
  it('replaces keys from a track’s `from` on, skips malformed keys, flushes and prunes', () => {
    const s = new VisemeSchedule();
    s.apply({ from: 0, keys: [{ at: 0, v: 1 }, { at: 100, v: 10 }, { at: 200, v: 0 }] });
    s.apply({ from: 100, keys: [{ at: 150, v: 11 }, { at: 120, v: 12 }, { at: 90, v: 3 }, { at: 130, v: 99 } as never, null as never] });
    expect(s.keys).toEqual([{ at: 0, v: 1 }, { at: 120, v: 12 }, { at: 150, v: 11 }]);
    expect(s.apply({ from: Number.NaN, keys: [] } as VisemeTrack)).toBe(0);
    s.flush(140);
    expect(s.keys).toEqual([{ at: 0, v: 1 }, { at: 120, v: 12 }, { at: 140, v: 0 }]);
    s.prune(130);
    expect(s.keys).toEqual([{ at: 120, v: 12 }, { at: 140, v: 0 }]);
  });
});

describe('coarticulation', () => {
  const keys = [
    { at: ms(100), v: V('PP') },
    { at: ms(180), v: V('aa') },
    { at: ms(330), v: V('DD') },
    { at: ms(400), v: V('O') },
    { at: ms(550), v: 0 },
  ];
  const w = new Float32Array(15);

  it('weights always sum to 1 (rest included) and never go negative', () => {
    for (let t = 0; t < 800; t += 3) {
      visemeWeightsAt(keys, ms(t), w);
      const sum = w.reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(1, 5);
      for (const x of w) expect(x).toBeGreaterThanOrEqual(0);
    }
  });

  it('a shape peaks just after its key and starts forming before it (anticipation)', () => {
    visemeWeightsAt(keys, ms(250), w);
    expect(w[V('aa')]).toBeCloseTo(1, 5);
    visemeWeightsAt(keys, ms(170), w); // 10 ms before "aa": lips already opening, still closing from PP
    expect(w[V('aa')]).toBeGreaterThan(0.1);
    expect(w[V('PP')]).toBeGreaterThan(0.1);
    visemeWeightsAt(keys, ms(30), w); // before the first key's anticipation (60 ms): rest
    expect(w[0]).toBe(1);
  });

  it('a tongue-only consonant keeps part of the nearest vowel’s shape', () => {
    visemeWeightsAt(keys, ms(365), w); // inside DD, between aa and O
    expect(w[V('DD')]).toBeGreaterThan(0.5);
    expect(w[V('O')] + w[V('aa')]).toBeGreaterThan(0.2);
  });

  it('rests after a last key that is not a rest, once its hold is over', () => {
    visemeWeightsAt([{ at: 0, v: V('aa') }], ms(500), w);
    expect(w[0]).toBe(1);
  });
});

describe('LipSyncDriver on a Babylon mesh', () => {
  it('follows the samples-played clock, not render time', () => {
    scene = createScene();
    const head = createHead(scene, OCULUS_NAMES);
    const clock = new FakeStreamClock();
    const driver = new LipSyncDriver({ clock, rig: createLipSyncRig(head), attackMs: 0, releaseMs: 0 });
    driver.applyTrack({ from: 0, keys: [{ at: ms(500), v: V('aa') }, { at: ms(800), v: V('U') }, { at: ms(1000), v: 0 }] });
    // half a second of render frames while the audio has not reached the word: mouth at rest
    for (let i = 0; i < 30; i++) driver.update(16.7);
    expect(influence(head, 'viseme_aa')).toBe(0);
    clock.streamPosition = ms(600);
    driver.update(16.7);
    expect(influence(head, 'viseme_aa')).toBeCloseTo(1, 5);
    clock.streamPosition = ms(900);
    driver.update(16.7);
    expect(influence(head, 'viseme_U')).toBeCloseTo(1, 5);
    expect(influence(head, 'viseme_aa')).toBe(0);
  });

  it('smooths with attack and release', () => {
    scene = createScene();
    const head = createHead(scene, OCULUS_NAMES);
    const clock = new FakeStreamClock();
    const driver = new LipSyncDriver({ clock, rig: createLipSyncRig(head), attackMs: 40, releaseMs: 80 });
    driver.applyTrack({ from: 0, keys: [{ at: 0, v: V('O') }, { at: ms(300), v: 0 }] });
    clock.streamPosition = ms(100);
    driver.update(16);
    const first = influence(head, 'viseme_O');
    expect(first).toBeGreaterThan(0.2);
    expect(first).toBeLessThan(0.5);
    for (let i = 0; i < 10; i++) {
      clock.advanceMs(16);
      driver.update(16);
    }
    expect(influence(head, 'viseme_O')).toBeGreaterThan(0.95);
    clock.streamPosition = ms(400);
    driver.update(16);
    const releasing = influence(head, 'viseme_O');
    expect(releasing).toBeGreaterThan(0.7); // release is slower than attack
    expect(releasing).toBeLessThan(1);
  });

  it('flush on interruption drops keys not yet heard', () => {
    scene = createScene();
    const head = createHead(scene, OCULUS_NAMES);
    const clock = new FakeStreamClock();
    const driver = new LipSyncDriver({ clock, rig: createLipSyncRig(head), attackMs: 0, releaseMs: 0 });
    driver.applyTrack({ from: 0, keys: [{ at: 0, v: V('E') }, { at: ms(200), v: V('aa') }, { at: ms(600), v: 0 }] });
    clock.streamPosition = ms(100);
    driver.update(16);
    expect(influence(head, 'viseme_E')).toBeCloseTo(1, 5);
    driver.flush(); // at the playhead
    clock.streamPosition = ms(300);
    driver.update(16);
    expect(influence(head, 'viseme_aa')).toBe(0);
    expect(influence(head, 'viseme_sil')).toBeCloseTo(1, 5);
  });

  it('rests when the clock stalls (underrun) or the voice stops playing', () => {
    scene = createScene();
    const head = createHead(scene, OCULUS_NAMES);
    const clock = new FakeStreamClock();
    const driver = new LipSyncDriver({ clock, rig: createLipSyncRig(head), attackMs: 0, releaseMs: 0, stallMs: 100 });
    driver.applyTrack({ from: 0, keys: [{ at: 0, v: V('aa') }, { at: ms(2000), v: 0 }] });
    clock.streamPosition = ms(500);
    driver.update(16);
    expect(influence(head, 'viseme_aa')).toBeCloseTo(1, 5);
    for (let i = 0; i < 7; i++) driver.update(16); // 112 ms without the clock moving
    expect(influence(head, 'viseme_aa')).toBe(0);
    clock.advanceMs(16);
    driver.update(16);
    expect(influence(head, 'viseme_aa')).toBeCloseTo(1, 5);
    clock.playing = false;
    clock.advanceMs(16);
    driver.update(16);
    expect(influence(head, 'viseme_aa')).toBe(0);
  });

  it('rests when the voice has gone quiet even if estimated word keys remain, and not in short gaps', () => {
    scene = createScene();
    const head = createHead(scene, OCULUS_NAMES);
    const clock = new FakeStreamClock();
    let level = 0.1;
    const driver = new LipSyncDriver({ clock, rig: createLipSyncRig(head), level: () => level, attackMs: 0, releaseMs: 0, amplitude: false });
    driver.applyTrack({ from: 0, keys: [{ at: 0, v: V('aa') }, { at: ms(3000), v: 0 }] });
    const step = () => {
      clock.advanceMs(16);
      driver.update(16);
    };
    step();
    expect(influence(head, 'viseme_aa')).toBeGreaterThan(0.9);
    level = 0;
    for (let i = 0; i < 6; i++) step(); // 96 ms of quiet: a gap between sounds, the shape holds
    expect(influence(head, 'viseme_aa')).toBeGreaterThan(0.9);
    for (let i = 0; i < 4; i++) step(); // past 150 ms: the audio has ended, the mouth rests
    expect(influence(head, 'viseme_aa')).toBe(0);
    level = 0.05;
    step();
    expect(influence(head, 'viseme_aa')).toBeGreaterThan(0.9);
  });

  it('opens the jaw with the voice level where there are no words, and not during words', () => {
    scene = createScene();
    const head = createHead(scene, OCULUS_NAMES);
    const clock = new FakeStreamClock();
    let level = 0.2;
    const driver = new LipSyncDriver({ clock, rig: createLipSyncRig(head), level: () => level, attackMs: 0, releaseMs: 0 });
    clock.streamPosition = ms(100);
    driver.update(16);
    expect(influence(head, 'viseme_aa')).toBeCloseTo(0.7, 5); // full level × gain
    level = 0.005;
    clock.advanceMs(16);
    driver.update(16);
    expect(influence(head, 'viseme_aa')).toBe(0);
    level = 0.2;
    driver.applyTrack({ from: 0, keys: [{ at: ms(200), v: V('I') }, { at: ms(400), v: 0 }] });
    clock.streamPosition = ms(300);
    driver.update(16);
    expect(influence(head, 'viseme_I')).toBeCloseTo(1, 5);
    expect(influence(head, 'viseme_aa')).toBe(0);
  });

  it('runs itself before each render once attached, and rests on dispose', () => {
    scene = createScene();
    new FreeCamera('cam', new Vector3(0, 0, -5), scene);
    const head = createHead(scene, OCULUS_NAMES);
    const clock = new FakeStreamClock();
    const driver = new LipSyncDriver({ clock, rig: createLipSyncRig(head), attackMs: 0, releaseMs: 0 }).attach(scene);
    driver.applyTrack({ from: 0, keys: [{ at: 0, v: V('O') }, { at: ms(500), v: 0 }] });
    clock.streamPosition = ms(100);
    scene.render();
    expect(influence(head, 'viseme_O')).toBeCloseTo(1, 5);
    driver.dispose();
    expect(influence(head, 'viseme_O')).toBe(0);
    clock.streamPosition = ms(120);
    scene.render();
    expect(influence(head, 'viseme_O')).toBe(0);
  });

  it('binds to a voice stream’s observables: tracks in, interruption flushes', () => {
    scene = createScene();
    const head = createHead(scene, OCULUS_NAMES);
    const clock = new FakeStreamClock();
    const driver = new LipSyncDriver({ clock, rig: createLipSyncRig(head), attackMs: 0, releaseMs: 0 });
    const voice = {
      get streamPosition() {
        return clock.streamPosition;
      },
      onVisemesObservable: new Observable<{ track: VisemeTrack }>(),
      onInterruptedObservable: new Observable<unknown>(),
    };
    const unbind = bindLipSync(voice, driver);
    voice.onVisemesObservable.notifyObservers({ track: { from: 0, keys: [{ at: 0, v: V('E') }, { at: ms(1000), v: 0 }] } });
    clock.streamPosition = ms(200);
    driver.update(16);
    expect(influence(head, 'viseme_E')).toBeCloseTo(1, 5);
    voice.onInterruptedObservable.notifyObservers({});
    clock.advanceMs(100);
    driver.update(16);
    expect(influence(head, 'viseme_E')).toBe(0);
    unbind();
    expect(voice.onVisemesObservable.hasObservers()).toBe(false);
  });
});

describe('rigs', () => {
  it('normalises target names across exporters', () => {
    expect(normalizeTargetName('Wolf3D_Head.viseme_aa')).toBe('visemeaa');
    expect(normalizeTargetName('mouthSmile_L')).toBe(normalizeTargetName('mouthSmileLeft'));
    expect(normalizeTargetName('blendShape1.jawOpen')).toBe('jawopen');
  });

  it('drives ARKit blendshapes through the mapping table', () => {
    scene = createScene();
    const head = createHead(scene, ['jawOpen', 'mouthFunnel', 'mouthPucker', 'mouthSmile_L', 'mouthSmile_R', 'mouthClose', 'eyeBlinkLeft']);
    const rig = createLipSyncRig(head);
    expect(rig.kind).toBe('arkit');
    const w = new Float32Array(15);
    w[V('O')] = 1;
    rig.apply(w);
    expect(influence(head, 'mouthFunnel')).toBeCloseTo(0.6, 5);
    expect(influence(head, 'jawOpen')).toBeCloseTo(0.45, 5);
    expect(influence(head, 'eyeBlinkLeft')).toBe(0); // not ours to touch
    w.fill(0);
    w[V('I')] = 1;
    rig.apply(w);
    expect(influence(head, 'mouthSmile_L')).toBeCloseTo(0.4, 5);
    expect(influence(head, 'mouthSmile_R')).toBeCloseTo(0.4, 5);
    expect(influence(head, 'mouthFunnel')).toBe(0);
  });

  it('prefers Oculus visemes and drives every child mesh that has them', () => {
    scene = createScene();
    const head = createHead(scene, [...OCULUS_NAMES, 'jawOpen', 'mouthFunnel', 'mouthPucker']);
    const teeth = createHead(scene, OCULUS_NAMES, 'teeth');
    teeth.parent = head;
    const rig = createLipSyncRig(head);
    expect(rig.kind).toBe('oculus');
    const w = new Float32Array(15);
    w[V('aa')] = 0.8;
    rig.apply(w);
    expect(influence(head, 'viseme_aa')).toBeCloseTo(0.8, 5);
    expect(influence(teeth, 'viseme_aa')).toBeCloseTo(0.8, 5);
    expect(createLipSyncRig(head, { prefer: 'arkit' }).kind).toBe('arkit');
  });

  it('falls back to a single jaw morph target', () => {
    scene = createScene();
    const head = createHead(scene, ['browUp', 'MouthOpen']);
    const rig = createLipSyncRig(head);
    expect(rig.kind).toBe('jaw-morph');
    const w = new Float32Array(15);
    w[V('aa')] = 1;
    rig.apply(w);
    expect(influence(head, 'MouthOpen')).toBeCloseTo(1, 5);
    w.fill(0);
    w[V('PP')] = 1;
    rig.apply(w);
    expect(influence(head, 'MouthOpen')).toBe(0);
  });

  it('falls back to a jaw bone, rotating about its local axis from its rest pose', () => {
    scene = createScene();
    const head = createHead(scene, []);
    const jaw = new TransformNode('jaw', scene);
    const rest = Quaternion.RotationAxis(new Vector3(0, 1, 0), 0.3);
    jaw.rotationQuaternion = rest.clone();
    const rig = createLipSyncRig(head, { jawBone: jaw, jawBoneOptions: { axis: 'x', maxAngle: 0.2 } });
    expect(rig.kind).toBe('jaw-bone');
    const w = new Float32Array(15);
    w[V('aa')] = 1;
    rig.apply(w);
    const expected = rest.multiply(Quaternion.RotationAxis(new Vector3(1, 0, 0), 0.2));
    const q = jaw.rotationQuaternion!;
    expect([q.x, q.y, q.z, q.w].map((x) => +x.toFixed(6))).toEqual([expected.x, expected.y, expected.z, expected.w].map((x) => +x.toFixed(6)));
    rig.reset();
    expect(q.equalsWithEpsilon(rest, 1e-9)).toBe(true);

    const eulerJaw = new TransformNode('jaw2', scene);
    eulerJaw.rotation.x = 0.1;
    const eulerRig = createLipSyncRig(head, { jawBone: eulerJaw });
    w.fill(0);
    w[V('E')] = 1;
    eulerRig.apply(w);
    expect(eulerJaw.rotation.x).toBeCloseTo(0.1 + 0.6 * 0.25, 6);
  });

  it('says what it looked for when a mesh has nothing to drive', () => {
    scene = createScene();
    const head = createHead(scene, ['eyeBlinkLeft', 'browUp']);
    expect(() => createLipSyncRig(head)).toThrow(/no usable rig on "head".*eyeblinkleft.*viseme_sil…viseme_U.*jawBone/s);
  });
});
