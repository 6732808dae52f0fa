import { afterEach, describe, expect, it } from 'vitest';
import { Observable } from '@babylonjs/core/Misc/observable.js';
import { Vector3 } from '@babylonjs/core/Maths/math.vector.js';
import { FreeCamera } from '@babylonjs/core/Cameras/freeCamera.js';
import type { Scene } from '@babylonjs/core/scene.js';
import { VISEMES, type VisemeTrack } from '../../../protocol/visemes.ts';
import { LipSyncDriver } from '../../../plugin/lipsync/driver.ts';
import { createLipSyncRig } from '../../../plugin/lipsync/rigs.ts';
import { bindLipSync } from '../../../plugin/lipsync/voice-binding.ts';
import { createHead, createScene, FakeStreamClock, influence, OCULUS_NAMES } from '../support/babylon-head.ts';

const V = (name: (typeof VISEMES)[number]) => VISEMES.indexOf(name);
const ms = (x: number) => Math.round(x * 24);

let scene: Scene | undefined;
afterEach(() => {
  scene?.getEngine().dispose();
  scene = undefined;
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

  it('binds to a voice stream’s observables: tracks in, an interruption or a pause flushes', () => {
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
      onPausedObservable: new Observable<unknown>(),
    };
    const unbind = bindLipSync(voice, driver);
    // an interruption, then a pause (it drops the buffered audio too): the keys not yet heard go with either
    for (const [k, cut] of [voice.onInterruptedObservable, voice.onPausedObservable].entries()) {
      const from = ms(300 * k);
      voice.onVisemesObservable.notifyObservers({ track: { from, keys: [{ at: from, v: V('E') }, { at: from + ms(1000), v: 0 }] } });
      clock.streamPosition = from + ms(200);
      driver.update(16);
      expect(influence(head, 'viseme_E')).toBeCloseTo(1, 5);
      cut.notifyObservers({});
      clock.advanceMs(100);
      driver.update(16);
      expect(influence(head, 'viseme_E')).toBe(0);
    }
    unbind();
    expect(voice.onVisemesObservable.hasObservers()).toBe(false);
    expect(voice.onPausedObservable.hasObservers()).toBe(false);
  });
});
