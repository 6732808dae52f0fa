/**
 * Test fixtures: a Babylon NullEngine scene and a sphere "head" with morph targets of the given names (each target
 * pushes a different vertex, so influences are real morph-target state, not a stand-in).
 */
import { NullEngine } from '@babylonjs/core/Engines/nullEngine.js';
import { Scene } from '@babylonjs/core/scene.js';
import { MeshBuilder } from '@babylonjs/core/Meshes/meshBuilder.js';
import type { Mesh } from '@babylonjs/core/Meshes/mesh.js';
import { MorphTargetManager } from '@babylonjs/core/Morph/morphTargetManager.js';
import { MorphTarget } from '@babylonjs/core/Morph/morphTarget.js';
import { VISEMES } from '../../../protocol/visemes.ts';

export function createScene(): Scene {
  const engine = new NullEngine();
  return new Scene(engine);
}

export function createHead(scene: Scene, targetNames: readonly string[], name = 'head'): Mesh {
  const mesh = MeshBuilder.CreateSphere(name, { segments: 6 }, scene);
  const base = mesh.getVerticesData('position')!;
  const mtm = new MorphTargetManager(scene);
  targetNames.forEach((n, i) => {
    const t = new MorphTarget(n, 0, scene);
    const pos = Float32Array.from(base);
    pos[(i * 3) % pos.length] += 0.1;
    t.setPositions(pos);
    mtm.addTarget(t);
  });
  mesh.morphTargetManager = mtm;
  return mesh;
}

export const OCULUS_NAMES = VISEMES.map((v) => `viseme_${v}`);

export function influence(mesh: Mesh, name: string): number {
  const t = mesh.morphTargetManager?.getTargetByName(name);
  if (!t) throw new Error(`no target ${name}`);
  return t.influence;
}

/** A voice clock the test moves by hand. */
export class FakeStreamClock {
  streamPosition = 0;
  playing = true;
  advanceMs(ms: number): void {
    this.streamPosition += Math.round(ms * 24);
  }
}
