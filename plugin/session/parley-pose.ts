/**
 * `parley.pose`: sends the listener's pose (the camera's position and facing) to the server, which decides who
 * hears whom from it. Throttled by PoseReporter; read from the camera once per rendered frame while enabled.
 */
import type { Camera } from '@babylonjs/core/Cameras/camera.js';
import { Vector3 } from '@babylonjs/core/Maths/math.vector.js';
import type { Observer } from '@babylonjs/core/Misc/observable.js';
import type { Scene } from '@babylonjs/core/scene.js';
import type { Vec3 } from '../../protocol/messages.ts';
import { PoseReporter, type PoseReporterOptions } from '../net/pose-reporter.ts';

export class ParleyPose {
  private readonly reporter: PoseReporter;
  private readonly forward = new Vector3();
  private readonly localForward: Vector3;
  private observer: Observer<Scene> | null = null;
  private enabledNow: boolean;
  private started = false;

  /** @internal created by the session; `options` false starts it disabled */
  constructor(
    private readonly scene: Scene,
    /** the camera whose pose is sent (also the audio listener) */
    readonly camera: Camera,
    send: (p: Vec3, f: Vec3) => void,
    options: PoseReporterOptions | false = {},
  ) {
    this.reporter = new PoseReporter(send, options || {});
    this.enabledNow = options !== false;
    this.localForward = new Vector3(0, 0, scene.useRightHandedSystem ? -1 : 1);
  }

  /**
   * Whether the pose is sent (default true; false with the connect option `pose: false`, for a game that reports
   * the pose some other way).
   */
  get enabled(): boolean {
    return this.enabledNow;
  }

  set enabled(value: boolean) {
    this.enabledNow = value === true;
    this.sync();
  }

  /** @internal the session is welcomed: start reporting */
  _start(): void {
    this.started = true;
    this.sync();
  }

  /** @internal the next pose goes out whatever it is (after a (re)join) */
  _invalidate(): void {
    this.reporter.invalidate();
  }

  /** @internal */
  _dispose(): void {
    this.started = false;
    this.sync();
  }

  private sync(): void {
    const on = this.started && this.enabledNow;
    if (on && !this.observer) {
      this.reporter.invalidate();
      this.observer = this.scene.onBeforeRenderObservable.add(() => this.report());
    } else if (!on && this.observer) {
      this.scene.onBeforeRenderObservable.remove(this.observer);
      this.observer = null;
    }
  }

  private report(): void {
    const p = this.camera.globalPosition;
    this.camera.getDirectionToRef(this.localForward, this.forward);
    const pos: Vec3 = [p.x, p.y, p.z];
    const fwd: Vec3 = [this.forward.x, this.forward.y, this.forward.z];
    this.reporter.update(performance.now(), pos, fwd);
  }
}
