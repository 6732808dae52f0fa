/**
 * Where viseme weights go on a character: Oculus viseme morph targets (`viseme_sil` … `viseme_U`, the Ready Player
 * Me / TalkingHead names), ARKit blendshapes (`jawOpen`, `mouthFunnel`, …) through a mapping table, or a jaw alone
 * (one jaw morph target, or a jaw bone's rotation). Targets are found by name on a mesh and its child meshes
 * (a glTF head often splits into head, teeth and tongue, each with the same targets).
 *
 * Written against the few Babylon members it touches, so it runs on real Babylon meshes and on test doubles alike.
 */
import { VISEMES } from '../../protocol/visemes.ts';

/** What the rigs need of a Babylon MorphTarget. */
export interface MorphTargetLike {
  readonly name: string;
  influence: number;
}
/** What the rigs need of a Babylon MorphTargetManager. */
export interface MorphTargetManagerLike {
  readonly numTargets: number;
  getTarget(index: number): MorphTargetLike | null | undefined;
}
/** What the rigs need of a Babylon AbstractMesh. */
export interface MeshLike {
  readonly name: string;
  morphTargetManager?: MorphTargetManagerLike | null;
  getChildMeshes?(directDescendantsOnly?: boolean): MeshLike[];
}
/** A jaw bone's TransformNode (glTF bones are driven through these) or any node with a rotation. */
export interface RotatableLike {
  rotation: { x: number; y: number; z: number };
  rotationQuaternion?: { x: number; y: number; z: number; w: number } | null;
}

export type RigKind = 'oculus' | 'arkit' | 'jaw-morph' | 'jaw-bone';

export interface LipSyncRig {
  readonly kind: RigKind;
  /** show these 15 viseme weights (index = viseme id) */
  apply(weights: Float32Array): void;
  /** back to the rest pose */
  reset(): void;
}

/** Case, separators, namespaces ("Wolf3D_Head.viseme_aa", "blendShape1.jawOpen") and _L/_R vs Left/Right ignored. */
export function normalizeTargetName(name: string): string {
  const local = name.split(/[.:|/]/).pop() ?? name;
  return local
    .replace(/[_\s.-]([LR])$/i, (_, side: string) => (side.toLowerCase() === 'l' ? 'left' : 'right'))
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
}

function collectTargets(root: MeshLike | MeshLike[]): Map<string, MorphTargetLike[]> {
  const meshes = Array.isArray(root) ? root.flatMap(withChildren) : withChildren(root);
  const byName = new Map<string, MorphTargetLike[]>();
  for (const mesh of meshes) {
    const mtm = mesh.morphTargetManager;
    if (!mtm) continue;
    for (let i = 0; i < mtm.numTargets; i++) {
      const t = mtm.getTarget(i);
      if (!t) continue;
      const key = normalizeTargetName(t.name);
      const list = byName.get(key);
      if (list) list.push(t);
      else byName.set(key, [t]);
    }
  }
  return byName;
}

function withChildren(mesh: MeshLike): MeshLike[] {
  return [mesh, ...(mesh.getChildMeshes?.(false) ?? [])];
}

const setAll = (targets: readonly MorphTargetLike[] | undefined, value: number): void => {
  if (targets) for (const t of targets) t.influence = value;
};
const clamp01 = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : x);

// ── Oculus visemes ───────────────────────────────────────────────────────────────────────────────────────────
class OculusRig implements LipSyncRig {
  readonly kind = 'oculus';
  constructor(private readonly targets: (MorphTargetLike[] | undefined)[]) {}
  apply(w: Float32Array): void {
    for (let v = 0; v < VISEMES.length; v++) setAll(this.targets[v], clamp01(w[v]));
  }
  reset(): void {
    for (let v = 0; v < VISEMES.length; v++) setAll(this.targets[v], 0);
  }
}

// ── ARKit blendshapes ────────────────────────────────────────────────────────────────────────────────────────
type Shape = Record<string, number>;
const both = (base: string, x: number): Shape => ({ [`${base}Left`]: x, [`${base}Right`]: x });

/**
 * Each Oculus viseme as a mix of ARKit blendshapes (Apple's names; `_L`/`_R` spellings match too). Jaw opening
 * follows the vowel's height; rounding uses funnel and pucker; spreading uses stretch and smile; closures press.
 */
export const ARKIT_VISEMES: Record<(typeof VISEMES)[number], Shape> = {
  sil: {},
  PP: { mouthClose: 0.25, ...both('mouthPress', 0.55), mouthRollLower: 0.25, mouthRollUpper: 0.15 },
  FF: { jawOpen: 0.08, mouthRollLower: 0.6, ...both('mouthUpperUp', 0.25) },
  TH: { jawOpen: 0.15, tongueOut: 0.4, ...both('mouthLowerDown', 0.15) },
  DD: { jawOpen: 0.2, ...both('mouthLowerDown', 0.15), ...both('mouthStretch', 0.1) },
  kk: { jawOpen: 0.25, ...both('mouthStretch', 0.15) },
  CH: { jawOpen: 0.12, mouthFunnel: 0.5, mouthPucker: 0.25, ...both('mouthUpperUp', 0.2) },
  SS: { jawOpen: 0.06, ...both('mouthStretch', 0.35), ...both('mouthSmile', 0.15) },
  nn: { jawOpen: 0.15, ...both('mouthStretch', 0.1) },
  RR: { jawOpen: 0.12, mouthPucker: 0.35, mouthFunnel: 0.3 },
  aa: { jawOpen: 0.65, ...both('mouthLowerDown', 0.2) },
  E: { jawOpen: 0.38, ...both('mouthStretch', 0.3), ...both('mouthSmile', 0.15) },
  I: { jawOpen: 0.22, ...both('mouthSmile', 0.4), ...both('mouthStretch', 0.2) },
  O: { jawOpen: 0.45, mouthFunnel: 0.6, mouthPucker: 0.2 },
  U: { jawOpen: 0.15, mouthPucker: 0.75, mouthFunnel: 0.3 },
};

class ArkitRig implements LipSyncRig {
  readonly kind = 'arkit';
  private readonly values: Float32Array;
  constructor(
    private readonly shapes: { targets: MorphTargetLike[]; perViseme: Float32Array }[],
  ) {
    this.values = new Float32Array(shapes.length);
  }
  apply(w: Float32Array): void {
    this.shapes.forEach((s, i) => {
      let x = 0;
      for (let v = 0; v < VISEMES.length; v++) x += w[v] * s.perViseme[v];
      this.values[i] = clamp01(x);
      setAll(s.targets, this.values[i]);
    });
  }
  reset(): void {
    for (const s of this.shapes) setAll(s.targets, 0);
  }
}

// ── jaw only ─────────────────────────────────────────────────────────────────────────────────────────────────
/** How open the jaw is for each viseme, 0..1: what a rig with only a jaw can show. */
export const JAW_OPENNESS: Record<(typeof VISEMES)[number], number> = {
  sil: 0, PP: 0, FF: 0.1, TH: 0.2, DD: 0.25, kk: 0.3, CH: 0.2, SS: 0.08, nn: 0.2, RR: 0.2, aa: 1, E: 0.6, I: 0.4,
  O: 0.7, U: 0.3,
};
const OPENNESS = VISEMES.map((v) => JAW_OPENNESS[v]);

export function jawOpenness(w: Float32Array): number {
  let x = 0;
  for (let v = 0; v < VISEMES.length; v++) x += w[v] * OPENNESS[v];
  return clamp01(x);
}

class JawMorphRig implements LipSyncRig {
  readonly kind = 'jaw-morph';
  constructor(
    private readonly targets: MorphTargetLike[],
    private readonly max: number,
  ) {}
  apply(w: Float32Array): void {
    setAll(this.targets, jawOpenness(w) * this.max);
  }
  reset(): void {
    setAll(this.targets, 0);
  }
}

export interface JawBoneOptions {
  /** local axis the jaw opens about (default 'x') */
  axis?: 'x' | 'y' | 'z';
  /** rotation at full opening, radians; negative to open the other way (default 0.25 ≈ 14°) */
  maxAngle?: number;
}

class JawBoneRig implements LipSyncRig {
  readonly kind = 'jaw-bone';
  private readonly restEuler: { x: number; y: number; z: number };
  private readonly restQuat: { x: number; y: number; z: number; w: number } | undefined;
  private readonly axis: 'x' | 'y' | 'z';
  private readonly maxAngle: number;
  constructor(
    private readonly node: RotatableLike,
    opts: JawBoneOptions,
  ) {
    this.axis = opts.axis ?? 'x';
    this.maxAngle = opts.maxAngle ?? 0.25;
    const r = node.rotation; // Babylon vectors keep x/y/z in accessors, so copy them by name
    this.restEuler = { x: r.x, y: r.y, z: r.z };
    const q = node.rotationQuaternion;
    this.restQuat = q ? { x: q.x, y: q.y, z: q.z, w: q.w } : undefined;
  }
  apply(w: Float32Array): void {
    this.rotate(jawOpenness(w) * this.maxAngle);
  }
  reset(): void {
    this.rotate(0);
  }
  private rotate(angle: number): void {
    const q = this.node.rotationQuaternion;
    if (q && this.restQuat) {
      // rest × (rotation about the local axis)
      const s = Math.sin(angle / 2);
      const c = Math.cos(angle / 2);
      const ax = this.axis === 'x' ? s : 0;
      const ay = this.axis === 'y' ? s : 0;
      const az = this.axis === 'z' ? s : 0;
      const r = this.restQuat;
      q.x = r.w * ax + r.x * c + r.y * az - r.z * ay;
      q.y = r.w * ay - r.x * az + r.y * c + r.z * ax;
      q.z = r.w * az + r.x * ay - r.y * ax + r.z * c;
      q.w = r.w * c - r.x * ax - r.y * ay - r.z * az;
    } else {
      this.node.rotation[this.axis] = this.restEuler[this.axis] + angle;
    }
  }
}

// ── finding a rig ────────────────────────────────────────────────────────────────────────────────────────────
const JAW_TARGET_NAMES = ['jawopen', 'mouthopen', 'jawdown', 'jawdrop', 'openjaw', 'jaw', 'open'];

export interface RigOptions {
  /** use this rig kind only (default: the richest one the mesh supports: oculus, then arkit, then jaw) */
  prefer?: RigKind;
  /** a jaw bone's node, used when the mesh has no usable morph targets (or with prefer: 'jaw-bone') */
  jawBone?: RotatableLike;
  jawBoneOptions?: JawBoneOptions;
  /** jaw morph influence at full opening (default 1) */
  jawMorphMax?: number;
}

/** ARKit shapes a mesh must have at least this many of to count as an ARKit rig. */
const MIN_ARKIT_SHAPES = 3;

export function createOculusRig(targets: Map<string, MorphTargetLike[]>): LipSyncRig | undefined {
  const list = VISEMES.map((v) => targets.get(`viseme${v.toLowerCase()}`));
  // a usable Oculus rig has at least the open vowel and one closure
  return list[VISEMES.indexOf('aa')] && list[VISEMES.indexOf('PP')] ? new OculusRig(list) : undefined;
}

export function createArkitRig(targets: Map<string, MorphTargetLike[]>): LipSyncRig | undefined {
  const names = new Set<string>();
  for (const shape of Object.values(ARKIT_VISEMES)) for (const n of Object.keys(shape)) names.add(n);
  const shapes: { targets: MorphTargetLike[]; perViseme: Float32Array }[] = [];
  for (const name of names) {
    const found = targets.get(normalizeTargetName(name));
    if (!found) continue;
    shapes.push({ targets: found, perViseme: Float32Array.from(VISEMES, (v) => ARKIT_VISEMES[v][name] ?? 0) });
  }
  const hasJaw = targets.has('jawopen');
  return hasJaw && shapes.length >= MIN_ARKIT_SHAPES ? new ArkitRig(shapes) : undefined;
}

/**
 * Pick the rig a character supports, from its morph target names (and an optional jaw bone). Throws an Error
 * naming what was looked for when nothing fits, so a game developer sees why the mouth does not move.
 */
export function createLipSyncRig(mesh: MeshLike | MeshLike[], opts: RigOptions = {}): LipSyncRig {
  const targets = collectTargets(mesh);
  const tries: Record<RigKind, () => LipSyncRig | undefined> = {
    oculus: () => createOculusRig(targets),
    arkit: () => createArkitRig(targets),
    'jaw-morph': () => {
      const name = JAW_TARGET_NAMES.find((n) => targets.has(n));
      return name ? new JawMorphRig(targets.get(name)!, opts.jawMorphMax ?? 1) : undefined;
    },
    'jaw-bone': () => (opts.jawBone ? new JawBoneRig(opts.jawBone, opts.jawBoneOptions ?? {}) : undefined),
  };
  const order: RigKind[] = opts.prefer ? [opts.prefer] : ['oculus', 'arkit', 'jaw-morph', 'jaw-bone'];
  for (const kind of order) {
    const rig = tries[kind]();
    if (rig) return rig;
  }
  const meshName = Array.isArray(mesh) ? mesh.map((m) => m.name).join(', ') : mesh.name;
  throw new Error(
    `lip-sync: no ${opts.prefer ?? 'usable'} rig on "${meshName}": found ${targets.size} morph targets` +
      `${targets.size ? ` (${[...targets.keys()].slice(0, 8).join(', ')}${targets.size > 8 ? ', …' : ''})` : ''}; ` +
      'expected viseme_sil…viseme_U, ARKit names (jawOpen, mouthFunnel, …), a jaw morph target (jawOpen, mouthOpen), ' +
      'or pass { jawBone } for a jaw bone',
  );
}
