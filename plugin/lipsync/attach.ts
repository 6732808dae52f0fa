/**
 * One call to give a character lips: find its rig, drive it from an NPC voice's clock and tracks, run each frame.
 * What an NpcVoiceBehavior (or a game) calls when it puts a voice on a mesh.
 */
import { LipSyncDriver, type LipSyncDriverOptions, type SceneLike } from './driver.ts';
import { levelFromAnalyzer, type AnalyzerLike } from './level.ts';
import { createLipSyncRig, type MeshLike, type RigOptions } from './rigs.ts';
import { bindLipSync, type VisemeSource } from './voice-binding.ts';

export interface AttachLipSyncOptions extends RigOptions, Omit<LipSyncDriverOptions, 'clock' | 'rig'> {
  /** the voice's Babylon sound analyzer (`voice.sound.analyzer`), used when no `level` is given */
  analyzer?: AnalyzerLike;
}

export interface LipSync {
  readonly driver: LipSyncDriver;
  dispose(): void;
}

export function attachLipSync(
  voice: VisemeSource & { readonly playing?: boolean },
  mesh: MeshLike | MeshLike[],
  scene: SceneLike,
  opts: AttachLipSyncOptions = {},
): LipSync {
  const rig = createLipSyncRig(mesh, opts);
  const level = opts.level ?? (opts.analyzer ? levelFromAnalyzer(opts.analyzer) : undefined);
  const driver = new LipSyncDriver({ ...opts, clock: voice, rig, level }).attach(scene);
  const unbind = bindLipSync(voice, driver);
  return {
    driver,
    dispose() {
      unbind();
      driver.dispose();
    },
  };
}
