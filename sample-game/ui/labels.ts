/** Name tags over the crew: HTML projected from each head's world position (no GUI library needed). */
import type { Camera } from '@babylonjs/core/Cameras/camera.js';
import type { AbstractEngine } from '@babylonjs/core/Engines/abstractEngine.js';
import { Matrix, Vector3 } from '@babylonjs/core/Maths/math.vector.js';
import type { Scene } from '@babylonjs/core/scene.js';

export interface LabelView {
  name: string;
  status: string;
  hearsYou: boolean;
}

const STATUS_TEXT: Record<string, string> = {
  idle: '',
  warming: 'waking up',
  listening: 'listening',
  speaking: 'speaking',
  busy: 'busy',
  error: 'unavailable',
};

export class NpcLabels {
  private readonly container = document.getElementById('labels')!;
  private readonly els = new Map<string, { root: HTMLElement; name: HTMLElement; status: HTMLElement }>();
  private readonly projected = new Vector3();

  /** Place `id`'s tag above `world` (the head); hidden when behind the camera or far away. */
  update(id: string, world: Vector3, view: LabelView, scene: Scene, camera: Camera, engine: AbstractEngine): void {
    let e = this.els.get(id);
    if (!e) {
      const root = document.createElement('div');
      root.className = 'npc-label';
      const name = document.createElement('div');
      name.className = 'name';
      const status = document.createElement('div');
      status.className = 'status';
      root.append(name, status);
      this.container.append(root);
      e = { root, name, status };
      this.els.set(id, e);
    }
    const w = engine.getRenderWidth();
    const h = engine.getRenderHeight();
    Vector3.ProjectToRef(world, Matrix.IdentityReadOnly, scene.getTransformMatrix(), camera.viewport.toGlobal(w, h), this.projected);
    const dist = Vector3.Distance(world, camera.globalPosition);
    const visible = this.projected.z > 0 && this.projected.z < 1 && dist < 16;
    e.root.hidden = !visible;
    if (!visible) return;
    const canvas = engine.getRenderingCanvas();
    const sx = canvas ? canvas.clientWidth / w : 1;
    const sy = canvas ? canvas.clientHeight / h : 1;
    e.root.style.left = `${this.projected.x * sx}px`;
    e.root.style.top = `${this.projected.y * sy}px`;
    e.root.style.opacity = String(Math.max(0.35, Math.min(1, 1.4 - dist / 12)));
    if (e.name.textContent !== view.name) e.name.textContent = view.name;
    const status = STATUS_TEXT[view.status] ?? view.status;
    if (e.status.textContent !== status) e.status.textContent = status;
    e.root.classList.toggle('hears-you', view.hearsYou);
  }
}
