/** Lip-sync for NPC voices: viseme tracks on the voice's samples-played clock → morph targets or a jaw. */
export { LipSyncDriver, type LipSyncDriverOptions, type VoiceClock, type LevelSource, type AmplitudeJawOptions, type SceneLike } from './driver.ts';
export {
  createLipSyncRig,
  createOculusRig,
  createArkitRig,
  normalizeTargetName,
  jawOpenness,
  ARKIT_VISEMES,
  JAW_OPENNESS,
  type LipSyncRig,
  type RigKind,
  type RigOptions,
  type JawBoneOptions,
  type MeshLike,
  type MorphTargetLike,
  type MorphTargetManagerLike,
  type RotatableLike,
} from './rigs.ts';
export { VisemeSchedule } from './schedule.ts';
export { visemeWeightsAt, DEFAULT_COARTICULATION, type CoarticulationOptions } from './coarticulation.ts';
export { bindLipSync, type VisemeSource } from './voice-binding.ts';
export { levelFromAnalyzer, type AnalyzerLike } from './level.ts';
export { attachLipSync, type AttachLipSyncOptions, type LipSync } from './attach.ts';
