/**
 * Messages between the main thread and the plugin's two AudioWorklet processors, and the shared clock layout.
 * Both sides import this file, so the shapes cannot drift apart.
 */
import type { PlayoutBufferOptions } from '../dsp/playout-buffer.ts';
import type { VoicePlayoutStats } from '../types.ts';

export const CAPTURE_PROCESSOR = 'parley-capture';
export const PLAYBACK_PROCESSOR = 'parley-playback';

// ── capture ────────────────────────────────────────────────────────────────────────────────────────────────
export interface CaptureProcessorOptions {
  /** output rate of the frames (the wire's 24 kHz) */
  targetRate: number;
  frameSamples: number;
  /** WebRTC AEC3's WebAssembly bytes (webrtc-aec3.wasm): cancel the audio engine's output (the node's second input) from the mic */
  aecWasm?: ArrayBuffer;
}

/** The capture worklet's echo canceller, as of a frame. */
export interface CaptureEchoStats {
  /** echo return loss enhancement over the last ~0.4 s of NPC voice, dB (NaN before any) */
  erleDb: number;
  /** estimated delay from the speakers to the mic, ms (NaN while unknown) */
  delayMs: number;
  /** audio-thread time the canceller took for this frame, ms */
  costMs: number;
  /** this frame's mean squares: mic before cancelling, after, and the reference the filter saw */
  power?: { mic: number; out: number; ref: number };
}

/** Worklet → main: one 80 ms frame at 24 kHz. `t` is the capture time of its first sample on the context clock, ms. */
export interface CaptureFrameMsg {
  type: 'frame';
  seq: number;
  t: number;
  samples: Float32Array;
  rms: number;
  /** present when echo cancellation runs */
  echo?: CaptureEchoStats;
}

/** Worklet → main: the echo canceller failed and is off; frames continue uncancelled. */
export interface CaptureEchoErrorMsg {
  type: 'echo-error';
  message: string;
}

export type CaptureControlMsg = { type: 'reset' } | { type: 'stop' };

// ── playback ───────────────────────────────────────────────────────────────────────────────────────────────
export interface PlaybackProcessorOptions {
  /** stream rate of the frames pushed in (24 kHz) */
  streamRate: number;
  frameSamples: number;
  jitter?: PlayoutBufferOptions;
  /** when present, the worklet writes its clock here every render quantum (layout: CLOCK_*) */
  clock?: SharedArrayBuffer;
  /** how often the worklet also posts its clock as a message, ms (the fallback without SharedArrayBuffer) */
  reportEveryMs: number;
}

export type PlaybackControlMsg =
  | { type: 'frame'; i: number; samples: Float32Array }
  /** `seq` counts the voice's flushes; the worklet reports the last one it has done (PlaybackClockMsg.flushSeq) */
  | { type: 'flush'; seq: number }
  | { type: 'reset' }
  | { type: 'stop' };

/** Worklet → main: where the stream is, as of the first sample of the quantum rendered at context time `ctxTime` s. */
export type PlaybackClockMsg = {
  type: 'clock';
  pos: number;
  ctxTime: number;
  playing: boolean;
  /** the last flush done (its seq): a report from before the main thread's latest flush is stale */
  flushSeq: number;
  /** stream position where the current run of playback began: the clock never reads back past it */
  runStart: number;
} & VoicePlayoutStats;

/** Float64Array slots of the shared clock. */
export const CLOCK_POS = 0;
export const CLOCK_CTX_TIME = 1;
export const CLOCK_PLAYING = 2;
export const CLOCK_BUFFERED_MS = 3;
export const CLOCK_TARGET_MS = 4;
export const CLOCK_UNDERRUNS = 5;
export const CLOCK_FLUSH_SEQ = 6;
export const CLOCK_RUN_START = 7;
export const CLOCK_SLOTS = 8;
