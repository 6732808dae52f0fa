import { afterEach, describe, expect, it } from 'vitest';
import { TransformNode } from '@babylonjs/core/Meshes/transformNode.js';
import { Quaternion, Vector3 } from '@babylonjs/core/Maths/math.vector.js';
import type { Scene } from '@babylonjs/core/scene.js';
import { VISEMES } from '../../../protocol/visemes.ts';
import { createLipSyncRig, normalizeTargetName } from '../../../plugin/lipsync/rigs.ts';
import { createHead, createScene, influence, OCULUS_NAMES } from '../support/babylon-head.ts';

const V = (name: (typeof VISEMES)[number]) => VISEMES.indexOf(name);

let scene: Scene | undefined;
afterEach(() => {
  scene?.getEngine().dispose();
  scene = undefined;
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
