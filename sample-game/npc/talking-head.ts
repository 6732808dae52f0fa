/**
 * The Babylon mesh of a talking head: the procedural geometry (head-geometry.ts) with its 15 `viseme_*` morph
 * targets, eyes that blink, brows, upper teeth and a dark mouth cavity seen through the lips when they part.
 * The plugin's lip-sync finds the targets by name, exactly as it would on a Ready Player Me style glTF head.
 */
import { Color3 } from '@babylonjs/core/Maths/math.color.js';
import { StandardMaterial } from '@babylonjs/core/Materials/standardMaterial.js';
import { Mesh } from '@babylonjs/core/Meshes/mesh.js';
import { VertexData } from '@babylonjs/core/Meshes/mesh.vertexData.js';
import { CreateBox } from '@babylonjs/core/Meshes/Builders/boxBuilder.js';
import { CreateSphere } from '@babylonjs/core/Meshes/Builders/sphereBuilder.js';
import { MorphTarget } from '@babylonjs/core/Morph/morphTarget.js';
import { MorphTargetManager } from '@babylonjs/core/Morph/morphTargetManager.js';
import type { Scene } from '@babylonjs/core/scene.js';
import { buildHeadGeometry, DEFAULT_HEAD, MOUTH_HALF_ANGLE, MOUTH_LATITUDE, type HeadDimensions } from './head-geometry.ts';
import { VISEME_TARGET_NAMES } from './mouth-shapes.ts';

export interface TalkingHeadOptions {
  skin: Color3;
  /** hair / cap colour */
  hair: Color3;
  dimensions?: HeadDimensions;
}

export interface TalkingHead {
  /** the mesh with the viseme morph targets (attach the NpcVoiceBehavior here: the voice comes from the mouth) */
  mesh: Mesh;
  /** 0 open … 1 shut */
  setBlink(amount: number): void;
}

function material(name: string, scene: Scene, diffuse: Color3, specular = 0.15): StandardMaterial {
  const m = new StandardMaterial(name, scene);
  m.diffuseColor = diffuse;
  m.specularColor = new Color3(specular, specular, specular);
  return m;
}

/** A point on the skull surface at latitude `theta`, longitude `phi` (0 = the front), pushed out by `out`. */
function surface(dim: HeadDimensions, theta: number, phi: number, out = 0): [number, number, number] {
  const ct = Math.cos(theta);
  return [(dim.rx + out) * ct * Math.sin(phi), (dim.ry + out) * Math.sin(theta), (dim.rz + out) * ct * Math.cos(phi)];
}

export function createTalkingHead(name: string, scene: Scene, opts: TalkingHeadOptions): TalkingHead {
  const dim = opts.dimensions ?? DEFAULT_HEAD;
  const g = buildHeadGeometry(dim);

  const mesh = new Mesh(name, scene);
  const vd = new VertexData();
  vd.positions = g.positions;
  vd.normals = g.normals;
  vd.indices = g.indices;
  vd.applyToMesh(mesh, true);
  const skin = material(`${name}:skin`, scene, opts.skin, 0.04);
  // a little self-light so faces read in the ship's dim, coloured light (the alarm-lit reactor especially)
  skin.emissiveColor = opts.skin.scale(0.22);
  mesh.material = skin;

  const mtm = new MorphTargetManager(scene);
  VISEME_TARGET_NAMES.forEach((targetName, v) => {
    const t = new MorphTarget(targetName, 0, scene);
    t.setPositions(g.targets[v]);
    t.setNormals(g.targetNormals[v]);
    mtm.addTarget(t);
  });
  mesh.morphTargetManager = mtm;

  // the mouth cavity: a dark shell just inside the skull, only ever seen through the parted lips
  const cavity = CreateSphere(`${name}:mouth`, { segments: 12, diameter: 2 }, scene);
  cavity.scaling.set(dim.rx * 0.9, dim.ry * 0.9, dim.rz * 0.9);
  cavity.material = material(`${name}:mouth`, scene, new Color3(0.16, 0.03, 0.04), 0);
  cavity.parent = mesh;

  // upper teeth, just behind the lips
  const lipY = dim.ry * Math.sin(MOUTH_LATITUDE);
  const lipZ = dim.rz * Math.cos(MOUTH_LATITUDE);
  const teethWidth = 2 * dim.rx * Math.cos(MOUTH_LATITUDE) * Math.sin(MOUTH_HALF_ANGLE) * 0.9;
  const teeth = CreateBox(`${name}:teeth`, { width: teethWidth, height: 0.011, depth: 0.006 }, scene);
  teeth.position.set(0, lipY + 0.0055, lipZ * 0.9);
  teeth.material = material(`${name}:teeth`, scene, new Color3(0.92, 0.9, 0.84), 0.3);
  teeth.parent = mesh;

  // eyes: white balls with dark pupils; blinking squashes them
  const eyeMat = material(`${name}:eye`, scene, new Color3(0.95, 0.95, 0.95), 0.6);
  const pupilMat = material(`${name}:pupil`, scene, new Color3(0.05, 0.06, 0.08), 0.8);
  const eyes: Mesh[] = [];
  for (const sx of [-1, 1]) {
    const [x, y, z] = surface(dim, 0.12, sx * 0.38, -0.008);
    const eye = CreateSphere(`${name}:eye`, { segments: 8, diameter: 0.028 }, scene);
    eye.position.set(x, y, z);
    eye.material = eyeMat;
    eye.parent = mesh;
    const pupil = CreateSphere(`${name}:pupil`, { segments: 6, diameter: 0.012 }, scene);
    pupil.position.set(0, 0, 0.011);
    pupil.material = pupilMat;
    pupil.parent = eye;
    eyes.push(eye);
    const [bx, by, bz] = surface(dim, 0.3, sx * 0.36, 0.002);
    const brow = CreateBox(`${name}:brow`, { width: 0.034, height: 0.006, depth: 0.008 }, scene);
    brow.position.set(bx, by, bz);
    brow.rotation.z = sx * -0.12;
    brow.material = material(`${name}:brow`, scene, opts.hair, 0);
    brow.parent = mesh;
  }

  // hair: a cap over the back and top of the skull
  const cap = CreateSphere(`${name}:hair`, { segments: 16, diameter: 2, slice: 0.55 }, scene);
  cap.scaling.set(dim.rx * 1.06, dim.ry * 1.04, dim.rz * 1.06);
  cap.rotation.x = -0.5; // tilted back so the forehead shows
  cap.position.set(0, 0.01, -0.012);
  cap.material = material(`${name}:hair`, scene, opts.hair, 0.05);
  cap.parent = mesh;

  return {
    mesh,
    setBlink(amount: number) {
      const s = 1 - Math.min(1, Math.max(0, amount)) * 0.9;
      for (const e of eyes) e.scaling.y = s;
    },
  };
}
