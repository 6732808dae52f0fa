/**
 * Which Parley session serves a scene, so that `new NpcVoiceBehavior('guard')` with no session finds the one
 * its node's scene is connected with, now or when it connects. Keyed by scene (weakly), not a global: two
 * scenes can run two sessions.
 */
import { Observable, type Observer } from '@babylonjs/core/Misc/observable.js';
import type { Scene } from '@babylonjs/core/scene.js';

const current = new WeakMap<Scene, object>();
const connected = new WeakMap<Scene, Observable<object>>();

/** @internal a session is up on `scene` */
export function registerSceneSession(scene: Scene, session: object): void {
  current.set(scene, session);
  connected.get(scene)?.notifyObservers(session);
}

/** @internal the session ended; a later one may take its place */
export function unregisterSceneSession(scene: Scene, session: object): void {
  if (current.get(scene) === session) current.delete(scene);
}

/**
 * Call `fn` with the scene's session now, or once one connects. Returns a function that stops waiting.
 */
export function withSceneSession<S extends object>(scene: Scene, fn: (session: S) => void): () => void {
  const now = current.get(scene);
  if (now) {
    fn(now as S);
    return () => {};
  }
  let waiting = connected.get(scene);
  if (!waiting) connected.set(scene, (waiting = new Observable<object>()));
  const observer: Observer<object> = waiting.addOnce((s) => fn(s as S));
  return () => waiting.remove(observer);
}
