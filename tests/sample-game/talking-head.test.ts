/**
 * The sample game's procedural head: its geometry (a closed skull with a real mouth opening) and the 15 viseme
 * morph targets, checked as shapes: each moves the mouth the way its viseme should, and only the mouth region.
 */
import { describe, expect, it } from 'vitest';
import { NullEngine } from '@babylonjs/core/Engines/nullEngine.js';
import { Scene } from '@babylonjs/core/scene.js';
import { Color3 } from '@babylonjs/core/Maths/math.color.js';
import { VertexData } from '@babylonjs/core/Meshes/mesh.vertexData.js';
import { VISEMES, type Viseme } from '../../protocol/visemes.ts';
import { buildHeadGeometry, DEFAULT_HEAD, MOUTH_LATITUDE } from '../../sample-game/npc/head-geometry.ts';
import { createTalkingHead } from '../../sample-game/npc/talking-head.ts';
import { createLipSyncRig } from '../../plugin/lipsync/index.ts';

const g = buildHeadGeometry();
const v = (name: Viseme) => g.targets[VISEMES.indexOf(name)];
const y = (p: Float32Array, i: number) => p[i * 3 + 1];
const z = (p: Float32Array, i: number) => p[i * 3 + 2];

/** The lips' gap at the centre of the mouth, metres. */
const opening = (p: Float32Array) => y(p, g.upperLipCentre) - y(p, g.lowerLipCentre);

/** Width of the mouth region: spread of x among displaced-lip vertices near the lip line, at rest vs shape. */
function lipHalfWidth(p: Float32Array): number {
  const lipY = DEFAULT_HEAD.ry * Math.sin(MOUTH_LATITUDE);
  let w = 0;
  for (let i = 0; i < g.side.length; i++) {
    if (g.side[i] === 0) continue; // only the opening's edges
    const base = g.positions;
    if (Math.abs(base[i * 3 + 1] - lipY) > 1e-6 || base[i * 3 + 2] < 0) continue;
    w = Math.max(w, Math.abs(p[i * 3]));
  }
  return w;
}

describe('procedural head geometry', () => {
  it('is a closed, outward-facing skull: normals point away from the centre, no NaN', () => {
    const n = g.normals;
    let outward = 0;
    for (let i = 0; i < n.length; i += 3) {
      expect(Number.isFinite(n[i]) && Number.isFinite(n[i + 1]) && Number.isFinite(n[i + 2])).toBe(true);
      if (n[i] * g.positions[i] + n[i + 1] * g.positions[i + 1] + n[i + 2] * g.positions[i + 2] > 0) outward++;
    }
    expect(outward / (n.length / 3)).toBeGreaterThan(0.98);
    // Babylon's own normals from the same winding agree (so Babylon sees the same front faces)
    const bn: number[] = [];
    VertexData.ComputeNormals(g.positions, g.indices, bn);
    let agree = 0;
    for (let i = 0; i < bn.length; i += 3) if (bn[i] * n[i] + bn[i + 1] * n[i + 1] + bn[i + 2] * n[i + 2] > 0.5) agree++;
    expect(agree / (bn.length / 3)).toBeGreaterThan(0.98);
  });

  it('has one target per viseme, same size as the mesh; sil is the rest pose and the mouth is shut at rest', () => {
    expect(g.targets).toHaveLength(15);
    for (const t of g.targets) expect(t.length).toBe(g.positions.length);
    expect(Array.from(v('sil'))).toEqual(Array.from(g.positions));
    expect(opening(g.positions)).toBeCloseTo(0, 9);
  });

  it('opens the jaw most for aa, then O and E, and barely for SS; keeps it shut for PP', () => {
    const o = (s: Viseme) => opening(v(s));
    expect(o('aa')).toBeGreaterThan(0.025);
    expect(o('aa')).toBeGreaterThan(o('O'));
    expect(o('O')).toBeGreaterThan(o('E'));
    expect(o('E')).toBeGreaterThan(o('SS'));
    expect(Math.abs(o('PP'))).toBeLessThan(0.001);
    // nothing opens the lips inside out
    for (const s of VISEMES) expect(o(s)).toBeGreaterThanOrEqual(-1e-6);
  });

  it('spreads the lips for I and SS, rounds them narrower and forward for U and O', () => {
    const rest = lipHalfWidth(g.positions);
    expect(lipHalfWidth(v('I'))).toBeGreaterThan(rest * 1.1);
    expect(lipHalfWidth(v('SS'))).toBeGreaterThan(rest * 1.1);
    expect(lipHalfWidth(v('U'))).toBeLessThan(rest * 0.8);
    expect(z(v('U'), g.upperLipCentre)).toBeGreaterThan(z(g.positions, g.upperLipCentre) + 0.005);
  });

  it('presses the lips in for PP and tucks the lower lip up and back for FF', () => {
    expect(z(v('PP'), g.lowerLipCentre)).toBeLessThan(z(g.positions, g.lowerLipCentre) - 0.005);
    expect(z(v('PP'), g.upperLipCentre)).toBeLessThan(z(g.positions, g.upperLipCentre) - 0.005);
    expect(z(v('FF'), g.lowerLipCentre)).toBeLessThan(z(g.positions, g.lowerLipCentre) - 0.005);
    // the lower lip rises towards the upper teeth: less open than the jaw alone would make it
    expect(opening(v('FF'))).toBeLessThan(opening(v('TH')));
  });

  it('moves only the lower half of the face: the top of the head and the back stay put for every viseme', () => {
    for (const t of g.targets) {
      let moved = 0;
      for (let i = 0; i < t.length; i += 3) {
        const d = Math.hypot(t[i] - g.positions[i], t[i + 1] - g.positions[i + 1], t[i + 2] - g.positions[i + 2]);
        if (d > 1e-6) {
          moved++;
          expect(g.positions[i + 1]).toBeLessThan(0.02); // below the eyes
          expect(g.positions[i + 2]).toBeGreaterThan(0); // the front half
        }
      }
      expect(moved).toBeLessThan(g.positions.length / 3 / 4);
    }
  });
});

describe('talking head mesh (Babylon NullEngine)', () => {
  it('carries the 15 viseme morph targets the plugin lip-sync recognises as an Oculus rig', () => {
    const scene = new Scene(new NullEngine());
    const head = createTalkingHead('alex:head', scene, { skin: new Color3(0.8, 0.6, 0.5), hair: new Color3(0.2, 0.1, 0.05) });
    const mtm = head.mesh.morphTargetManager!;
    expect(mtm.numTargets).toBe(15);
    expect(VISEMES.map((_, i) => mtm.getTarget(i)!.name)).toEqual(VISEMES.map((s) => `viseme_${s}`));
    const rig = createLipSyncRig(head.mesh);
    expect(rig.kind).toBe('oculus');
    const w = new Float32Array(15);
    w[VISEMES.indexOf('aa')] = 0.8;
    rig.apply(w);
    expect(mtm.getTargetByName('viseme_aa')!.influence).toBeCloseTo(0.8, 5);
    rig.reset();
    expect(mtm.getTargetByName('viseme_aa')!.influence).toBe(0);
    head.setBlink(1);
    scene.dispose();
  });
});
