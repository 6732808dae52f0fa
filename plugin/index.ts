/**
 * Parley for Babylon.js: the player's voice in, NPC voices out as spatial sound.
 *
 *   const parley = await ParleySession.connect({ scene, camera, url: 'wss://game.example/' });
 *   guardMesh.addBehavior(new NpcVoiceBehavior('guard', parley));
 *
 * Babylon.js (@babylonjs/core 9) and the Colyseus SDK (@colyseus/sdk 0.18) are peer dependencies.
 */
export { ParleySession, type ParleyConnectOptions } from './session/parley-session.ts';
export { ParleyMic, type MicMode } from './session/parley-mic.ts';
export { NpcVoices } from './session/npc-voices.ts';
export { ParleyPose } from './session/parley-pose.ts';
/** @deprecated ParleySession (kept for one release) */
export { ParleyVoice } from './parley-voice.ts';
export { NpcVoiceBehavior, type NpcVoiceBehaviorOptions } from './npc-voice-behavior.ts';
export { NpcVoice, type NpcVoiceOptions, type SpatialVoiceOptions } from './audio/npc-voice.ts';
export type { MicOptions } from './audio/mic-capture.ts';
export type { PoseReporterOptions } from './net/pose-reporter.ts';
export type { RoomLike } from './net/parley-link.ts';
export type { PlayoutBufferOptions, PlayoutBufferOptions as JitterBufferOptions } from './dsp/playout-buffer.ts';
export type * from './types.ts';
export { PROTOCOL_VERSION, VISEMES, FRAME_SAMPLES, SAMPLE_RATE, FRAME_MS } from '../protocol/index.ts';
export type { VisemeKey, VisemeTrack, Viseme, NpcStatus, Codec } from '../protocol/index.ts';
export { npcStatusOf } from '../protocol/room-view.ts';
export type { RoomStateView, PartialRoomStateView, PlayerView, NpcView, PoseView, MapView } from '../protocol/room-view.ts';

// Lip-sync and captions (issue 6) ride on each NpcVoice's clock and events.
export * from './lipsync/index.ts';
export * from './captions/index.ts';
