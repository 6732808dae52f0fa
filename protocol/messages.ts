import type { Codec } from './codecs.ts';
import type { VisemeTrack } from './visemes.ts';

/**
 * Every Parley message travels as Colyseus bytes on the channel below, as a msgpackr-packed object whose `k`
 * field is one of these kinds. Player → server kinds are below 16, server → player kinds 16 and above.
 */
export const PARLEY_CHANNEL = 'parley';

export const Kind = {
  Hello: 1,
  Voice: 2,
  Pose: 3,
  Played: 4,
  Welcome: 16,
  NpcVoice: 17,
  Text: 18,
  NpcEvent: 19,
  Refused: 20,
  Heard: 21,
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

export type Vec3 = [number, number, number];

// ── player → server ──────────────────────────────────────────────────────────────────────────────────────────
export interface HelloMsg {
  k: typeof Kind.Hello;
  /** protocol version the client speaks */
  v: string;
  /** codecs the client can send (mic) and receive (NPC voices), in its order of preference */
  send: Codec[];
  recv: Codec[];
  /**
   * What the client does about its speakers reaching its microphone (docs/plugin.md, Echo): `cancelled` (its own
   * echo canceller runs), `headphones` (the player said so), `none`. Absent: not said (a client older than 1.1, or
   * one that does not know); the server treats it as `none`. A client whose answer changes (its canceller failed)
   * says hello again with the new one: the server keeps the player's voice stream and only takes the new answer.
   */
  echo?: EchoHandling;
}

export const ECHO_HANDLINGS = ['cancelled', 'headphones', 'none'] as const;
export type EchoHandling = (typeof ECHO_HANDLINGS)[number];

export interface VoiceMsg {
  k: typeof Kind.Voice;
  /** per-player sequence number, +1 per 80 ms frame, wraps never (a float64 lasts forever at 12.5 Hz) */
  seq: number;
  /** capture time of the frame's first sample, client clock, ms */
  t: number;
  codec: Codec;
  data: Uint8Array;
}

export interface PoseMsg {
  k: typeof Kind.Pose;
  /** position, world units (metres in the sample game) */
  p: Vec3;
  /** facing direction; need not be normalised, the server normalises it */
  f: Vec3;
}

/**
 * How far this player's speakers have played an NPC's voice stream: through frame index `i` (from the plugin's
 * samples-played clock). The server's record of what each listener heard (docs/scenes.md) follows it.
 */
export interface PlayedMsg {
  k: typeof Kind.Played;
  npc: string;
  i: number;
}

export type ClientMsg = HelloMsg | VoiceMsg | PoseMsg | PlayedMsg;

// ── server → player ──────────────────────────────────────────────────────────────────────────────────────────
export interface WelcomeMsg {
  k: typeof Kind.Welcome;
  v: string;
  /** codec the server expects from this player, and the codec of the NPC voices it will send */
  send: Codec;
  recv: Codec;
  /** server clock, ms, at sending */
  t: number;
  /** the engine's text-to-audio lead in frames, and its honest label */
  lead: number;
  engine: string;
}

export interface NpcVoiceMsg {
  k: typeof Kind.NpcVoice;
  npc: string;
  /** frame index on this NPC's voice stream; consecutive frames differ by 1, a gap means a lost frame */
  i: number;
  /** server clock, ms */
  t: number;
  codec: Codec;
  data: Uint8Array;
  /** lip-sync keys for this stream, when the text stream gave any */
  vis?: VisemeTrack;
}

export interface TextMsg {
  k: typeof Kind.Text;
  npc: string;
  i: number;
  /** SentencePiece-style piece; '▁' starts a word */
  piece: string;
}

export type NpcStatus = 'idle' | 'warming' | 'listening' | 'speaking' | 'busy' | 'error';
export const NPC_STATUSES: readonly NpcStatus[] = ['idle', 'warming', 'listening', 'speaking', 'busy', 'error'];

/**
 * Speech events on an NPC's voice stream, at frame index `i`. An NPC's status (idle, warming with its progress,
 * listening, speaking, busy, error with its message) is not an event: it is the NPC's synced room state.
 */
export type NpcEvent =
  | { e: 'speech-started'; i: number }
  | { e: 'speech-ended'; i: number }
  | { e: 'interrupted'; i: number }
  // Talked over, the NPC fell quiet at frame i and may carry on with the same utterance ('resumed'): the plugin
  // drops the voice it has queued (as for 'interrupted') but keeps the utterance's captions and words.
  | { e: 'paused'; i: number }
  | { e: 'resumed'; i: number };

export type NpcEventMsg = { k: typeof Kind.NpcEvent; npc: string } & NpcEvent;

/** The server refused something this player sent; the connection stays up. */
export interface RefusedMsg {
  k: typeof Kind.Refused;
  code: string;
  message: string;
}

/**
 * An NPC finished speaking for this player: the words of that utterance this player's playback reached, cut at
 * the interruption if it was cut (server/scenes/heard-record.ts).
 */
export interface HeardMsg {
  k: typeof Kind.Heard;
  npc: string;
  words: string[];
  interrupted: boolean;
  /** 'playback': judged by this player's played reports; 'sent': it sent none; 'partial': its reports stopped short */
  reached: 'playback' | 'sent' | 'partial';
}

export type ServerMsg = WelcomeMsg | NpcVoiceMsg | TextMsg | NpcEventMsg | RefusedMsg | HeardMsg;
