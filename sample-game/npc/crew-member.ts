/**
 * One crew member in the scene: a suited body, the talking head (where the NPC's voice and lip-sync attach), a
 * status ring above the head, idle motion (breathing, sway, blinking), and turning towards the player who is
 * talking to them. Everything it shows comes from the room state (status, who hears whom) and the voice level.
 */
import { Color3 } from '@babylonjs/core/Maths/math.color.js';
import { Vector3 } from '@babylonjs/core/Maths/math.vector.js';
import { StandardMaterial } from '@babylonjs/core/Materials/standardMaterial.js';
import type { AbstractMesh } from '@babylonjs/core/Meshes/abstractMesh.js';
import { TransformNode } from '@babylonjs/core/Meshes/transformNode.js';
import { CreateCapsule } from '@babylonjs/core/Meshes/Builders/capsuleBuilder.js';
import { CreateCylinder } from '@babylonjs/core/Meshes/Builders/cylinderBuilder.js';
import { CreateTorus } from '@babylonjs/core/Meshes/Builders/torusBuilder.js';
import type { Scene } from '@babylonjs/core/scene.js';
import type { NpcStatus } from '../../protocol/messages.ts';
import { createTalkingHead, type TalkingHead } from './talking-head.ts';

export interface CrewLook {
  skin: string;
  hair: string;
  suit: string;
}

/** How each character sheet looks in this scene; any other sheet gets the default. */
export const CREW_LOOKS: Record<string, CrewLook> = {
  alex: { skin: '#c68e6c', hair: '#2a1a12', suit: '#d9822b' },
  okafor: { skin: '#7a4e33', hair: '#141010', suit: '#e8ecef' },
  vance: { skin: '#e0b89a', hair: '#8f8f8f', suit: '#2f4f86' },
};
const DEFAULT_LOOK: CrewLook = { skin: '#b98a6e', hair: '#3b2a1e', suit: '#5d6b7a' };

/** Status ring colours: a player sees at a glance who is listening and who speaks. */
const STATUS_COLOURS: Record<NpcStatus, string> = {
  idle: '#3a4452',
  warming: '#ffb020',
  listening: '#38e07b',
  speaking: '#48c8ff',
  busy: '#ff7a1a',
  error: '#ff2a3a',
};

export interface CrewFrame {
  /** seconds since start, and since the last frame */
  t: number;
  dt: number;
  status: NpcStatus;
  /** 0..1 while warming */
  progress: number;
  /** where the player who talks to this NPC stands (their eyes), or null to face the NPC's own way */
  lookAt: Vector3 | null;
  /** the NPC's voice level now, RMS 0..1 */
  level: number;
}

const HEAD_HEIGHT = 1.62;

export class CrewMember {
  readonly root: TransformNode;
  readonly head: TalkingHead;
  private readonly neck: TransformNode;
  private readonly ring: AbstractMesh;
  private readonly ringMat: StandardMaterial;
  private readonly body: AbstractMesh;
  private readonly restYaw: number;
  private yaw: number;
  private readonly phase: number;
  private nextBlink: number;
  private blinkStart = -1;
  private readonly colour = new Color3();

  constructor(
    readonly id: string,
    scene: Scene,
    position: readonly [number, number, number],
    facing: readonly [number, number, number],
  ) {
    const look = CREW_LOOKS[id] ?? DEFAULT_LOOK;
    this.root = new TransformNode(`${id}`, scene);
    this.root.position.set(position[0], position[1], position[2]);
    this.restYaw = Math.atan2(facing[0], facing[2]);
    this.yaw = this.restYaw;
    this.root.rotation.y = this.yaw;
    this.phase = [...id].reduce((a, ch) => a + ch.charCodeAt(0), 0) % 17;
    this.nextBlink = 1 + (this.phase % 4);

    const suit = new StandardMaterial(`${id}:suit`, scene);
    suit.diffuseColor = Color3.FromHexString(look.suit);
    suit.specularColor = new Color3(0.2, 0.2, 0.2);
    // a suited figure from capsules: torso, shoulders, arms, legs (cheap, and reads as a person at a distance)
    const dark = new StandardMaterial(`${id}:boots`, scene);
    dark.diffuseColor = Color3.FromHexString(look.suit).scale(0.35);
    this.body = CreateCapsule(`${id}:torso`, { radius: 0.2, height: 0.78, tessellation: 14, capSubdivisions: 4 }, scene);
    this.body.position.y = 1.08;
    this.body.scaling.set(1.05, 1, 0.7);
    this.body.material = suit;
    this.body.parent = this.root;
    const part = (name: string, radius: number, height: number, x: number, y: number, rz: number, m: StandardMaterial) => {
      const c = CreateCapsule(`${id}:${name}`, { radius, height, tessellation: 10, capSubdivisions: 3 }, scene);
      c.position.set(x, y, 0);
      c.rotation.z = rz;
      c.material = m;
      c.parent = this.root;
      return c;
    };
    part('shoulders', 0.09, 0.5, 0, 1.36, Math.PI / 2, suit);
    part('arm-l', 0.06, 0.66, -0.26, 1.04, 0.06, suit);
    part('arm-r', 0.06, 0.66, 0.26, 1.04, -0.06, suit);
    part('leg-l', 0.085, 0.8, -0.1, 0.4, 0, dark);
    part('leg-r', 0.085, 0.8, 0.1, 0.4, 0, dark);
    const collar = CreateCylinder(`${id}:collar`, { diameter: 0.13, height: 0.16, tessellation: 14 }, scene);
    collar.position.y = 1.47;
    collar.material = suit;
    collar.parent = this.root;

    this.neck = new TransformNode(`${id}:neck`, scene);
    this.neck.position.y = 1.48;
    this.neck.parent = this.root;
    this.head = createTalkingHead(`${id}:head`, scene, {
      skin: Color3.FromHexString(look.skin),
      hair: Color3.FromHexString(look.hair),
    });
    this.head.mesh.position.y = HEAD_HEIGHT - 1.48;
    this.head.mesh.parent = this.neck;

    this.ringMat = new StandardMaterial(`${id}:ring`, scene);
    this.ringMat.diffuseColor = new Color3(0, 0, 0);
    this.ringMat.disableLighting = true;
    this.ring = CreateTorus(`${id}:ring`, { diameter: 0.34, thickness: 0.025, tessellation: 28 }, scene);
    this.ring.position.y = HEAD_HEIGHT + 0.3;
    this.ring.material = this.ringMat;
    this.ring.parent = this.root;

    // the player bumps into the crew rather than walking through them
    const collider = CreateCylinder(`${id}:collider`, { diameter: 0.7, height: 1.8 }, scene);
    collider.position.y = 0.9;
    collider.parent = this.root;
    collider.isVisible = false;
    collider.checkCollisions = true;
    collider.isPickable = false;
  }

  /** The meshes a room light should light. */
  get meshes(): AbstractMesh[] {
    return this.root.getChildMeshes(false);
  }

  /** World position of the head (labels, the teleport hook). */
  get headPosition(): Vector3 {
    return this.head.mesh.getAbsolutePosition();
  }

  update(f: CrewFrame): void {
    // turn (the whole body, as people do) towards whoever talks to them, at most ~2 rad/s; back when alone
    let targetYaw = this.restYaw;
    let pitch = 0;
    if (f.lookAt) {
      const dx = f.lookAt.x - this.root.position.x;
      const dz = f.lookAt.z - this.root.position.z;
      if (dx * dx + dz * dz > 0.04) targetYaw = Math.atan2(dx, dz);
      const horiz = Math.hypot(dx, dz);
      pitch = -Math.atan2(f.lookAt.y - (this.root.position.y + HEAD_HEIGHT), Math.max(horiz, 0.3)) * 0.6;
    }
    let d = targetYaw - this.yaw;
    d = Math.atan2(Math.sin(d), Math.cos(d));
    const maxStep = 2 * f.dt;
    this.yaw += Math.max(-maxStep, Math.min(maxStep, d));
    this.root.rotation.y = this.yaw;

    // idle: breathing, a slow sway and small head movements; more animated while speaking
    const t = f.t + this.phase;
    const speaking = f.status === 'speaking';
    this.body.scaling.y = 1 + 0.012 * Math.sin(t * 1.6);
    this.neck.rotation.x = pitch + 0.03 * Math.sin(t * 0.7) + (speaking ? 0.04 * Math.sin(t * 3.1) * Math.min(1, f.level * 8) : 0);
    this.neck.rotation.y = 0.06 * Math.sin(t * 0.43) + (speaking ? 0.03 * Math.sin(t * 1.9) : 0);
    this.neck.rotation.z = 0.025 * Math.sin(t * 0.31);
    this.root.position.y = 0.004 * Math.sin(t * 1.6);

    // blink every 2–5 s, 150 ms each
    if (f.t >= this.nextBlink && this.blinkStart < 0) this.blinkStart = f.t;
    if (this.blinkStart >= 0) {
      const k = (f.t - this.blinkStart) / 0.15;
      this.head.setBlink(k < 1 ? Math.sin(k * Math.PI) : 0);
      if (k >= 1) {
        this.blinkStart = -1;
        this.nextBlink = f.t + 2 + ((this.phase * 7 + f.t * 13) % 3);
      }
    }

    // the status ring: colour by status; it pulses with the voice while speaking and breathes while warming
    this.colour.copyFrom(Color3.FromHexString(STATUS_COLOURS[f.status] ?? STATUS_COLOURS.idle));
    let glow = 1;
    if (speaking) glow = 0.55 + Math.min(0.45, f.level * 6);
    else if (f.status === 'warming') glow = 0.45 + 0.35 * (0.5 + 0.5 * Math.sin(f.t * 6));
    else if (f.status === 'error') glow = Math.sin(f.t * 8) > 0 ? 1 : 0.3;
    this.ringMat.emissiveColor.set(this.colour.r * glow, this.colour.g * glow, this.colour.b * glow);
    const s = f.status === 'warming' ? 0.6 + 0.4 * f.progress : speaking ? 1 + Math.min(0.25, f.level * 3) : 1;
    this.ring.scaling.set(s, 1, s);
    this.ring.rotation.y = f.t * 0.8;
  }
}
