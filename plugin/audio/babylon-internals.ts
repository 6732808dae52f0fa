/**
 * The only place Parley reads Babylon.js internals. @babylonjs/core 9 has no public route to either:
 *
 * - the AudioContext of an AudioEngineV2 the game created (`_WebAudioEngine._audioContext`, marked @internal):
 *   Parley's worklets and voices must live in the engine's context, and a game that passes only its engine
 *   should not have to pass the context too;
 * - the engine's final output node (`mainOut._inNode`, the GainNode that feeds `ctx.destination`): the echo
 *   loopback re-routes it through WebRTC.
 *
 * Both are checked here and fail with a clear message; tests/plugin/audio/babylon-internals.test.ts fails when a
 * Babylon release renames or changes them. If Babylon adds a public route, use it here and nowhere else.
 */
import type { AudioEngineV2 } from '@babylonjs/core/AudioV2/abstractAudio/audioEngineV2.js';

interface WebAudioEngineInternals {
  _audioContext?: unknown;
  mainOut?: { _inNode?: unknown };
}

const isAudioContext = (x: unknown): x is AudioContext =>
  typeof x === 'object' && x !== null && typeof (x as AudioContext).createGain === 'function' && 'destination' in x;

const isAudioNode = (x: unknown): x is AudioNode =>
  typeof x === 'object' && x !== null && typeof (x as AudioNode).connect === 'function' && 'context' in x;

/** The AudioContext an AudioEngineV2 renders into (Babylon's WebAudio engine keeps it internal). */
export function engineAudioContext(engine: AudioEngineV2): AudioContext {
  const ctx = (engine as unknown as WebAudioEngineInternals)._audioContext;
  if (!isAudioContext(ctx)) {
    throw new Error('Parley: cannot find the AudioContext of this audio engine (pass { audioContext } as well)');
  }
  return ctx;
}

/** The node through which all of an AudioEngineV2's sound reaches `ctx.destination`. */
export function engineOutputNode(engine: AudioEngineV2): AudioNode {
  const node = (engine as unknown as WebAudioEngineInternals).mainOut?._inNode;
  if (!isAudioNode(node)) throw new Error('Parley: echoLoopback could not find the audio engine output node');
  return node;
}
