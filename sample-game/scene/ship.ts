/**
 * Builds the ship from the floor plan (ship-plan.ts): floors, ceilings and walls with collisions, each room's
 * light limited to its own meshes (cheap enough for software WebGL), furniture, the bridge window onto Mars, and
 * the reactor room with its pulsing core and red alarm lighting. `update` animates the core and the alarm.
 */
import { Color3 } from '@babylonjs/core/Maths/math.color.js';
import { Vector3 } from '@babylonjs/core/Maths/math.vector.js';
import { HemisphericLight } from '@babylonjs/core/Lights/hemisphericLight.js';
import { PointLight } from '@babylonjs/core/Lights/pointLight.js';
import { StandardMaterial } from '@babylonjs/core/Materials/standardMaterial.js';
import { DynamicTexture } from '@babylonjs/core/Materials/Textures/dynamicTexture.js';
import type { AbstractMesh } from '@babylonjs/core/Meshes/abstractMesh.js';
import type { Mesh } from '@babylonjs/core/Meshes/mesh.js';
import { CreateBox } from '@babylonjs/core/Meshes/Builders/boxBuilder.js';
import { CreateCylinder } from '@babylonjs/core/Meshes/Builders/cylinderBuilder.js';
import { CreatePlane } from '@babylonjs/core/Meshes/Builders/planeBuilder.js';
import { CreateSphere } from '@babylonjs/core/Meshes/Builders/sphereBuilder.js';
import { CreateTorus } from '@babylonjs/core/Meshes/Builders/torusBuilder.js';
import type { Scene } from '@babylonjs/core/scene.js';
import { OBSTACLES, REACTOR_CORE, ROOMS, WALLS, WALL_THICKNESS, roomAt, wallPieces, type RoomId } from './ship-plan.ts';

export interface Ship {
  /** add meshes built elsewhere (the crew) to a room's lighting */
  light(room: RoomId, mesh: AbstractMesh): void;
  /** seconds since start; animates the core, the alarm and the screens */
  update(t: number): void;
}

function mat(scene: Scene, name: string, diffuse: Color3, opts: { emissive?: Color3; specular?: number; alpha?: number } = {}) {
  const m = new StandardMaterial(name, scene);
  m.diffuseColor = diffuse;
  const s = opts.specular ?? 0.1;
  m.specularColor = new Color3(s, s, s);
  if (opts.emissive) m.emissiveColor = opts.emissive;
  if (opts.alpha !== undefined) m.alpha = opts.alpha;
  return m;
}

function materials(scene: Scene) {
  const hex = Color3.FromHexString;
  return {
    floor: mat(scene, 'floor', hex('#3a3f48'), { specular: 0.25 }),
    wall: mat(scene, 'wall', hex('#8a93a0')),
    ceiling: mat(scene, 'ceiling', hex('#4a505a')),
    reactorWall: mat(scene, 'reactor-wall', hex('#5d5a58')),
    medWall: mat(scene, 'med-wall', hex('#c9d6d3')),
    trim: mat(scene, 'trim', hex('#2b2f36'), { specular: 0.4 }),
    lightStrip: mat(scene, 'light-strip', hex('#000000'), { emissive: hex('#d8ecff') }),
    screen: mat(scene, 'screen', hex('#000000'), { emissive: hex('#2f8fd8') }),
    alarmLamp: mat(scene, 'alarm-lamp', hex('#300000'), { emissive: hex('#ff2a1a') }),
    coreGlass: mat(scene, 'core-glass', hex('#9fd8ff'), { alpha: 0.22, specular: 0.9 }),
    coreInner: mat(scene, 'core-inner', hex('#000000'), { emissive: hex('#6ff2ff') }),
    ring: mat(scene, 'core-ring', hex('#70757e'), { specular: 0.6 }),
    hazard: mat(scene, 'hazard', hex('#d4a017'), { emissive: hex('#3a2a00') }),
    bed: mat(scene, 'bed', hex('#e8eef0')),
    door: mat(scene, 'door', hex('#59616d'), { specular: 0.3 }),
    doorLight: mat(scene, 'door-light', hex('#000000'), { emissive: hex('#39d98a') }),
    panel: mat(scene, 'panel', hex('#6b7078'), { specular: 0.3 }),
  };
}

function box(scene: Scene, name: string, m: StandardMaterial, x0: number, x1: number, y0: number, y1: number, z0: number, z1: number, solid = true): Mesh {
  const b = CreateBox(name, { width: x1 - x0, height: y1 - y0, depth: z1 - z0 }, scene);
  b.position.set((x0 + x1) / 2, (y0 + y1) / 2, (z0 + z1) / 2);
  b.material = m;
  b.checkCollisions = solid;
  b.freezeWorldMatrix();
  return b;
}

/** A canvas-drawn texture (labels, screens, the starfield): no downloaded assets. */
function canvasTexture(scene: Scene, name: string, w: number, h: number, draw: (ctx: CanvasRenderingContext2D) => void): DynamicTexture {
  const tex = new DynamicTexture(name, { width: w, height: h }, scene, true);
  draw(tex.getContext() as unknown as CanvasRenderingContext2D);
  tex.update();
  return tex;
}

export function buildShip(scene: Scene): Ship {
  const m = materials(scene);
  const byRoom: Record<RoomId, AbstractMesh[]> = { bridge: [], corridor: [], medbay: [], reactor: [] };
  const inRoom = (id: RoomId, mesh: AbstractMesh) => byRoom[id].push(mesh);

  // ── floors and ceilings ───────────────────────────────────────────────────────────────────────────────────
  for (const r of Object.values(ROOMS)) {
    inRoom(r.id, box(scene, `${r.id}:floor`, m.floor, r.x0, r.x1, -0.2, 0, r.z0, r.z1));
    inRoom(r.id, box(scene, `${r.id}:ceiling`, m.ceiling, r.x0, r.x1, r.height, r.height + 0.2, r.z0, r.z1));
  }

  // ── walls, doorways and lintels ───────────────────────────────────────────────────────────────────────────
  const half = WALL_THICKNESS / 2;
  for (const w of WALLS) {
    for (const [k, p] of wallPieces(w).entries()) {
      const mid = (p.from + p.to) / 2;
      const [x, z] = w.axis === 'x' ? [mid, w.at] : [w.at, mid];
      // light each piece with the room on its inner side (the room its midpoint is next to)
      const probe = w.axis === 'x' ? [[x, z - 0.5], [x, z + 0.5]] : [[x - 0.5, z], [x + 0.5, z]];
      const rooms = probe.map(([px, pz]) => roomAt(px, pz)?.id).filter((r): r is RoomId => !!r);
      const mater = rooms.includes('reactor') ? m.reactorWall : rooms.includes('medbay') ? m.medWall : m.wall;
      const mesh =
        w.axis === 'x'
          ? box(scene, `wall:${w.at}:${k}`, mater, p.from, p.to, p.bottom, p.top, w.at - half, w.at + half)
          : box(scene, `wall:${w.at}:${k}`, mater, w.at - half, w.at + half, p.bottom, p.top, p.from, p.to);
      for (const r of rooms) inRoom(r, mesh);
    }
  }

  // ── lights: a dim ambient everywhere, one light per room on that room's meshes only ──────────────────────
  const ambient = new HemisphericLight('ambient', new Vector3(0.2, 1, 0.1), scene);
  ambient.intensity = 0.35;
  ambient.groundColor = new Color3(0.12, 0.12, 0.16);
  const roomLight = (id: string, pos: Vector3, color: string, intensity: number, range: number) => {
    const l = new PointLight(`${id}:light`, pos, scene);
    l.diffuse = Color3.FromHexString(color);
    l.specular = l.diffuse.scale(0.4);
    l.intensity = intensity;
    l.range = range;
    return l;
  };
  const lights: Record<RoomId, PointLight[]> = {
    bridge: [roomLight('bridge', new Vector3(0, 3, -7), '#bcd6ff', 0.9, 14)],
    corridor: [roomLight('corridor', new Vector3(0, 2.6, 8), '#e6f0ff', 0.8, 16)],
    medbay: [roomLight('medbay', new Vector3(-6, 2.6, 12), '#e9fff6', 1.0, 10)],
    reactor: [roomLight('reactor:core', new Vector3(0, 2.5, REACTOR_CORE.z), '#5fe8ff', 1.2, 16), roomLight('reactor:alarm', new Vector3(0, 5.2, 24), '#ff2a1a', 1.0, 20)],
  };
  const [coreLight, alarmLight] = lights.reactor;

  // ── corridor: light strips, pipes, the crew quarters' closed doors ────────────────────────────────────────
  const c = ROOMS.corridor;
  for (let z = c.z0 + 1.5; z < c.z1; z += 3) inRoom('corridor', box(scene, 'strip', m.lightStrip, -0.4, 0.4, c.height - 0.04, c.height, z - 0.6, z + 0.6, false));
  for (const x of [c.x0 + 0.18, c.x1 - 0.18]) {
    const pipe = CreateCylinder('pipe', { diameter: 0.12, height: c.z1 - c.z0, tessellation: 10 }, scene);
    pipe.rotation.x = Math.PI / 2;
    pipe.position.set(x, c.height - 0.3, (c.z0 + c.z1) / 2);
    pipe.material = m.trim;
    inRoom('corridor', pipe);
  }
  for (const [x, z] of [[c.x0, 1.5], [c.x1, 1.5], [c.x0, 5.5], [c.x1, 5.5], [c.x1, 12]]) {
    const s = Math.sign(x);
    inRoom('corridor', box(scene, 'quarters-door', m.door, x - s * 0.16, x - s * 0.1, 0, 2.3, z - 0.6, z + 0.6, false));
    inRoom('corridor', box(scene, 'quarters-light', m.doorLight, x - s * 0.18, x - s * 0.16, 2.35, 2.42, z - 0.3, z + 0.3, false));
  }

  // ── bridge: console with screens, the commander's chair, and Mars through the window ─────────────────────
  const con = OBSTACLES.find((o) => o.name === 'bridge-console')!;
  inRoom('bridge', box(scene, 'console', m.panel, con.x0, con.x1, 0, con.height, con.z0, con.z1));
  const screenTex = canvasTexture(scene, 'nav-screen', 512, 128, (ctx) => {
    ctx.fillStyle = '#031424';
    ctx.fillRect(0, 0, 512, 128);
    ctx.strokeStyle = '#4fc3ff';
    ctx.lineWidth = 3;
    ctx.beginPath();
    for (let x = 0; x <= 512; x += 8) ctx.lineTo(x, 64 + 30 * Math.sin(x / 40) * Math.cos(x / 97));
    ctx.stroke();
    ctx.fillStyle = '#8fe3ff';
    ctx.font = 'bold 22px monospace';
    ctx.fillText('MARS TRANSFER  T-212 d   REACTOR: FAULT', 12, 118);
  });
  const navMat = mat(scene, 'nav-screen', new Color3(0, 0, 0), { emissive: new Color3(1, 1, 1) });
  navMat.emissiveTexture = screenTex;
  const nav = CreatePlane('nav-screen', { width: 5.4, height: 0.8 }, scene);
  nav.position.set(0, 1.45, con.z0 + 0.05);
  nav.rotation.x = -0.35;
  nav.rotation.y = Math.PI;
  nav.material = navMat;
  inRoom('bridge', nav);
  const chair = box(scene, 'chair', m.trim, -0.45, 0.45, 0, 0.5, -9.9, -9.2);
  inRoom('bridge', chair);
  inRoom('bridge', box(scene, 'chair-back', m.trim, -0.45, 0.45, 0.5, 1.3, -9.95, -9.8, false));
  // outside the window: stars and Mars (unlit, emissive; nothing outside needs the room's light)
  const stars = canvasTexture(scene, 'stars', 1024, 512, (ctx) => {
    ctx.fillStyle = '#000005';
    ctx.fillRect(0, 0, 1024, 512);
    let seed = 7;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (let i = 0; i < 500; i++) {
      const b = Math.floor(120 + rnd() * 135);
      ctx.fillStyle = `rgb(${b},${b},${Math.min(255, b + 20)})`;
      ctx.fillRect(rnd() * 1024, rnd() * 512, rnd() < 0.1 ? 2 : 1, rnd() < 0.1 ? 2 : 1);
    }
  });
  const skyMat = mat(scene, 'sky', new Color3(0, 0, 0), { emissive: new Color3(1, 1, 1) });
  skyMat.emissiveTexture = stars;
  skyMat.disableLighting = true;
  const sky = CreatePlane('sky', { width: 60, height: 30 }, scene);
  sky.position.set(0, 2, -40);
  sky.rotation.y = Math.PI;
  sky.material = skyMat;
  const mars = CreateSphere('mars', { diameter: 9, segments: 24 }, scene);
  mars.position.set(4, 1.5, -30);
  const marsMat = mat(scene, 'mars', Color3.FromHexString('#b5502b'), { emissive: Color3.FromHexString('#5a1e0c') });
  mars.material = marsMat;
  inRoom('bridge', mars);
  const glass = CreatePlane('window-glass', { width: 9, height: 2 }, scene);
  glass.position.set(0, 1.9, -13);
  glass.material = mat(scene, 'glass', new Color3(0.5, 0.7, 0.9), { alpha: 0.08, specular: 1 });
  glass.checkCollisions = true;

  // ── med bay: bed, cabinet, a vitals screen ────────────────────────────────────────────────────────────────
  const bed = OBSTACLES.find((o) => o.name === 'med-bed')!;
  inRoom('medbay', box(scene, 'bed-frame', m.trim, bed.x0, bed.x1, 0, 0.5, bed.z0, bed.z1));
  inRoom('medbay', box(scene, 'mattress', m.bed, bed.x0 + 0.05, bed.x1 - 0.05, 0.5, bed.height, bed.z0 + 0.05, bed.z1 - 0.05, false));
  const cab = OBSTACLES.find((o) => o.name === 'med-cabinet')!;
  inRoom('medbay', box(scene, 'cabinet', m.panel, cab.x0, cab.x1, 0, cab.height, cab.z0, cab.z1));
  const vitalsTex = canvasTexture(scene, 'vitals', 256, 128, (ctx) => {
    ctx.fillStyle = '#021a0f';
    ctx.fillRect(0, 0, 256, 128);
    ctx.strokeStyle = '#3dff9a';
    ctx.lineWidth = 3;
    ctx.beginPath();
    for (let x = 0; x <= 256; x += 4) ctx.lineTo(x, x % 64 === 32 ? 20 : x % 64 === 36 ? 100 : 64);
    ctx.stroke();
  });
  const vitalsMat = mat(scene, 'vitals', new Color3(0, 0, 0), { emissive: new Color3(1, 1, 1) });
  vitalsMat.emissiveTexture = vitalsTex;
  const vitals = CreatePlane('vitals', { width: 1.2, height: 0.6 }, scene);
  vitals.position.set(-9, 1.7, 15.88);
  vitals.material = vitalsMat;
  inRoom('medbay', vitals);

  // ── reactor: the core, its rings, hazard floor, alarm lamps, panel R-7 ────────────────────────────────────
  const core = REACTOR_CORE;
  const glassCol = CreateCylinder('core-glass', { diameter: core.radius * 2, height: core.height, tessellation: 28 }, scene);
  glassCol.position.set(core.x, core.height / 2, core.z);
  glassCol.material = m.coreGlass;
  glassCol.checkCollisions = true;
  const inner = CreateCylinder('core-inner', { diameter: core.radius * 0.9, height: core.height - 0.4, tessellation: 20 }, scene);
  inner.position.set(core.x, core.height / 2, core.z);
  inner.material = m.coreInner;
  const rings = [0.4, 2.6, 4.8].map((y, k) => {
    const ring = CreateTorus(`core-ring-${k}`, { diameter: core.radius * 2 + 0.2, thickness: 0.16, tessellation: 32 }, scene);
    ring.position.set(core.x, y, core.z);
    ring.material = m.ring;
    inRoom('reactor', ring);
    return ring;
  });
  const hazardTex = canvasTexture(scene, 'hazard', 256, 256, (ctx) => {
    ctx.fillStyle = '#d4a017';
    ctx.fillRect(0, 0, 256, 256);
    ctx.fillStyle = '#111';
    for (let k = -256; k < 512; k += 64) {
      ctx.beginPath();
      ctx.moveTo(k, 0);
      ctx.lineTo(k + 32, 0);
      ctx.lineTo(k + 32 + 256, 256);
      ctx.lineTo(k + 256, 256);
      ctx.fill();
    }
  });
  m.hazard.diffuseTexture = hazardTex;
  const ringFloor = CreateCylinder('hazard-ring', { diameter: core.radius * 2 + 1.6, height: 0.02, tessellation: 32 }, scene);
  ringFloor.position.set(core.x, 0.01, core.z);
  ringFloor.material = m.hazard;
  inRoom('reactor', ringFloor);
  const r = ROOMS.reactor;
  const lamps: Mesh[] = [];
  for (const [x, z] of [[r.x0 + 0.12, 23], [r.x1 - 0.12, 23], [r.x0 + 0.12, 31], [r.x1 - 0.12, 31], [0, r.z1 - 0.12]]) {
    const lamp = CreateSphere('alarm-lamp', { diameter: 0.35, segments: 8 }, scene);
    lamp.position.set(x, 4.2, z);
    lamp.material = m.alarmLamp;
    lamps.push(lamp);
  }
  const panelTex = canvasTexture(scene, 'panel-r7', 256, 256, (ctx) => {
    ctx.fillStyle = '#6b7078';
    ctx.fillRect(0, 0, 256, 256);
    ctx.strokeStyle = '#2b2f36';
    ctx.lineWidth = 10;
    ctx.strokeRect(8, 8, 240, 240);
    ctx.fillStyle = '#ffd24a';
    ctx.font = 'bold 72px monospace';
    ctx.fillText('R-7', 64, 150);
  });
  const panelMat = mat(scene, 'panel-r7', new Color3(1, 1, 1), { specular: 0.3 });
  panelMat.diffuseTexture = panelTex;
  const panel = CreatePlane('panel-r7', { width: 1, height: 1 }, scene);
  panel.position.set(r.x1 - 0.11, 1.4, 26.5);
  panel.rotation.y = Math.PI / 2;
  panel.material = panelMat;
  inRoom('reactor', panel);
  // console by the core where Alex works
  inRoom('reactor', box(scene, 'reactor-console', m.panel, 2.6, 3.6, 0, 1.05, 25.3, 26.9));
  const rscreen = CreatePlane('reactor-screen', { width: 1.4, height: 0.5 }, scene);
  rscreen.position.set(2.55, 1.35, 26.1);
  rscreen.rotation.y = -Math.PI / 2;
  rscreen.material = m.alarmLamp;
  inRoom('reactor', rscreen);

  // each room's lights on that room's meshes only: a mesh never pays for lights it cannot see
  for (const id of Object.keys(lights) as RoomId[]) for (const l of lights[id]) l.includedOnlyMeshes = byRoom[id];

  return {
    light(room, mesh) {
      byRoom[room].push(mesh);
      for (const l of lights[room]) l.includedOnlyMeshes = byRoom[room];
    },
    update(t) {
      // the core pulses (a failing heartbeat), the rings turn, the alarm sweeps red once a second and a half
      const pulse = 0.5 + 0.5 * Math.sin(t * 4.2) * Math.sin(t * 1.3 + 0.5);
      m.coreInner.emissiveColor.set(0.25 + 0.5 * pulse, 0.75 + 0.25 * pulse, 1);
      coreLight.intensity = 0.7 + 0.9 * pulse;
      rings.forEach((ring, k) => (ring.rotation.y = t * (0.3 + 0.2 * k) * (k % 2 ? -1 : 1)));
      const alarm = Math.max(0, Math.sin((t * 2 * Math.PI) / 1.5)) ** 2;
      alarmLight.intensity = 0.25 + 1.6 * alarm;
      m.alarmLamp.emissiveColor.set(0.25 + 0.75 * alarm, 0.04 * alarm, 0.02);
    },
  };
}
