/**
 * First-person controls: a UniversalCamera at eye height with WASD (and arrows), mouse look with pointer lock
 * (click the canvas), gravity and collisions against the ship's walls, furniture and crew.
 */
import '@babylonjs/core/Collisions/collisionCoordinator.js'; // registers scene collisions (a side-effect import)
import { UniversalCamera } from '@babylonjs/core/Cameras/universalCamera.js';
import { Vector3 } from '@babylonjs/core/Maths/math.vector.js';
import type { Scene } from '@babylonjs/core/scene.js';
import type { Vec3 } from '../protocol/messages.ts';

export const EYE_HEIGHT = 1.7;

export function createPlayer(scene: Scene, canvas: HTMLCanvasElement, start: Vec3, lookAt: Vec3): UniversalCamera {
  scene.collisionsEnabled = true;
  scene.gravity = new Vector3(0, -0.4, 0);
  const camera = new UniversalCamera('player', new Vector3(start[0], start[1], start[2]), scene);
  camera.setTarget(new Vector3(lookAt[0], lookAt[1], lookAt[2]));
  camera.minZ = 0.05;
  camera.fov = 1.05;
  camera.speed = 0.16;
  camera.inertia = 0.75;
  camera.angularSensibility = 2500;
  // the collision ellipsoid hangs below the eyes: its bottom touches the floor at eye height
  camera.ellipsoid = new Vector3(0.35, EYE_HEIGHT / 2, 0.35);
  camera.checkCollisions = true;
  camera.applyGravity = true;
  camera.keysUp = [87, 38]; // W, ↑
  camera.keysDown = [83, 40]; // S, ↓
  camera.keysLeft = [65, 37]; // A, ←
  camera.keysRight = [68, 39]; // D, →
  camera.keysUpward = [];
  camera.keysDownward = [];
  camera.attachControl(canvas, true);

  // pointer lock on click, for mouse look without dragging; Escape gives the pointer back (browser default)
  canvas.addEventListener('click', () => {
    canvas.focus();
    if (document.pointerLockElement !== canvas) {
      const p = canvas.requestPointerLock?.() as unknown as Promise<void> | undefined;
      p?.catch?.(() => {}); // refused (e.g. headless): dragging still looks around
    }
  });
  return camera;
}

/** Move the player (the teleport test hook, respawn): eyes at `at`, looking at `lookAt`. */
export function placePlayer(camera: UniversalCamera, at: Vec3, lookAt: Vec3): void {
  camera.position.set(at[0], at[1], at[2]);
  camera.setTarget(new Vector3(lookAt[0], lookAt[1], lookAt[2]));
}
