/**
 * Public shapes of the plugin: event payloads, and the voice-stream interface that lip-sync and captions
 * (plugin/lipsync, plugin/captions) build on. Keep these stable; docs/plugin.md documents them.
 */
import type { Observable } from '@babylonjs/core/Misc/observable.js';
import type { NpcStatus, VisemeTrack } from '../protocol/index.ts';

/** Connection state of this player's Parley session. */
export type SessionState =
  | 'connecting' // joining the room
  | 'joined' // in the room, Hello sent, waiting for Welcome
  | 'ready' // Welcome received: voice flows
  | 'reconnecting' // the socket dropped; the SDK is reconnecting (no voice is queued meanwhile)
  | 'rejoining' // the room's server drained or did not come back: joining the room again by name elsewhere
  | 'disconnected' // left the room, or dispose() was called
  | 'refused'; // the server refused the session (e.g. protocol version mismatch)

export interface SessionStateEvent {
  state: SessionState;
  /** why, for 'refused', 'disconnected' and 'rejoining' */
  reason?: string;
}

/** `i` is the frame index on the NPC's voice stream where the event happens. */
export interface NpcFrameEvent {
  npc: string;
  i: number;
}

export interface NpcTextEvent {
  npc: string;
  /** frame index on the NPC's voice stream the piece belongs to */
  i: number;
  /** SentencePiece-style piece; '▁' starts a word */
  piece: string;
}

export interface NpcVisemeEvent {
  npc: string;
  /** frame index of the voice frame that carried the track */
  i: number;
  track: VisemeTrack;
}

/** An NPC's status as the room state has it (NpcVoice.onStatusObservable). */
export interface NpcStateEvent {
  npc: string;
  state: NpcStatus;
  progress?: number;
  detail?: string;
}

/** @deprecated payload of ParleyVoice.onNpcErrorObservable: a status 'error' with its detail */
export interface NpcErrorEvent {
  npc: string;
  message: string;
}

export interface MicLevelEvent {
  /** RMS of the last 80 ms frame, 0..1 */
  rms: number;
  /** the same in dBFS (−100 for silence) */
  dbfs: number;
  /** whether this frame was sent (false when muted, push-to-talk is up, or not connected) */
  sent: boolean;
}

export interface RefusedEvent {
  code: string;
  message: string;
}

/** An NPC finished speaking for this player: the words this player's speakers played, cut where it was interrupted. */
export interface HeardEvent {
  npc: string;
  words: string[];
  interrupted: boolean;
  /** 'playback': judged by this player's samples-played clock; 'sent': as sent (no clock); 'partial': its reports stopped short */
  reached: 'playback' | 'sent' | 'partial';
}

/** Playout statistics of one NPC voice (from its jitter buffer). */
export interface VoicePlayoutStats {
  bufferedMs: number;
  targetMs: number;
  underruns: number;
  late: number;
  concealed: number;
  overrunDropped: number;
}

/**
 * One NPC's voice as heard by this player: the interface lip-sync and captions hook onto.
 *
 * Stream scale: sample 0 is the first sample of frame 0 of the NPC's voice stream, 24 kHz, frame i covering
 * [i × 1920, (i + 1) × 1920). Viseme keys (`VisemeKey.at`) use the same scale.
 */
export interface NpcVoiceStream {
  readonly npc: string;
  /**
   * Stream sample position audible now: (index of the frame playing) × 1920 + offset within it, with lost
   * frames filled by silence so it stays on the server's frame-index scale; output latency is subtracted.
   * Read it on the main thread, e.g. once per rendered frame. It holds still while nothing plays.
   */
  readonly streamPosition: number;
  /** whether audio from the stream is playing now (false while buffering or after the NPC stopped) */
  readonly playing: boolean;
  /** each viseme track as it arrives, with the frame index it came with */
  readonly onVisemesObservable: Observable<NpcVisemeEvent>;
  /** each text piece as it arrives, with its frame index */
  readonly onTextObservable: Observable<NpcTextEvent>;
  /** the NPC was interrupted: everything buffered was dropped at once (drop pending visemes/captions too) */
  readonly onInterruptedObservable: Observable<NpcFrameEvent>;
  /**
   * Talked over, the NPC paused its utterance and may carry on with it (then `onResumedObservable`): what was
   * buffered was dropped at once, as for an interruption, but the utterance's words stand (drop pending visemes,
   * keep captions; the resumed audio says the last word again).
   */
  readonly onPausedObservable: Observable<NpcFrameEvent>;
  readonly onResumedObservable: Observable<NpcFrameEvent>;
  readonly onSpeechStartedObservable: Observable<NpcFrameEvent>;
  readonly onSpeechEndedObservable: Observable<NpcFrameEvent>;
  readonly stats: VoicePlayoutStats;
}
