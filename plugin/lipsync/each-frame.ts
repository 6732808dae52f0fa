/** The Babylon scene members used to run something before every render. */
export interface SceneLike {
  onBeforeRenderObservable: { add(cb: () => void): unknown; remove(observer: unknown): boolean };
  getEngine(): { getDeltaTime(): number };
}

/** Calls `fn(deltaMs)` before every render of the scene it is attached to; the lip-sync driver and captions share it. */
export class EachFrame {
  private scene: SceneLike | undefined;
  private observer: unknown;

  constructor(private readonly fn: (deltaMs: number) => void) {}

  attach(scene: SceneLike): void {
    this.detach();
    this.scene = scene;
    this.observer = scene.onBeforeRenderObservable.add(() => this.fn(scene.getEngine().getDeltaTime()));
  }

  detach(): void {
    if (this.scene && this.observer) this.scene.onBeforeRenderObservable.remove(this.observer);
    this.scene = undefined;
    this.observer = undefined;
  }
}
