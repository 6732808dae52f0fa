/**
 * TEST HOOK, not a game API: `window.__parley` lets the browser end-to-end test (tests/e2e/) move the player and
 * read what the page is doing — session, room state, each NPC voice's clock, level and lip-sync morph targets,
 * the captions, and a trace of recent render frames. It only reads state and teleports; it sends nothing.
 */
import type { Vec3 } from '../protocol/messages.ts';

export interface NpcReadout {
  status: string;
  /** the voice exists and is playing now */
  playing: boolean;
  /** samples-played clock of the NPC's voice stream */
  streamPosition: number;
  bufferedMs: number;
  underruns: number;
  /** voice level now (RMS of the Babylon analyzer on the NPC's sound) */
  level: number;
  /** the morph targets' influences, viseme_sil … viseme_U */
  influences: number[];
  /** synced: whom it answers while speaking (an NPC id or a player's session id; '' none) */
  talkingTo: string;
}

export interface TraceEntry {
  t: number;
  npc: string;
  playing: boolean;
  pos: number;
  level: number;
  /** largest influence among the 14 non-silence visemes, and which one (1..14) */
  mouth: number;
  top: number;
}

/** Page events: speech-started / speech-ended / interrupted / paused / resumed (the NPC voice's), 'talking-to' (an NPC's synced talkingTo changed; detail: the new value), session, npc-error, refused. */
export interface GameEvent {
  t: number;
  name: string;
  npc?: string;
  i?: number;
  detail?: string;
  /** the NPC voice's samples-played clock when the event was handled (interrupted, paused) */
  pos?: number;
}

export interface TestHookSource {
  ready(): boolean;
  session(): string;
  engine(): string;
  heardBy(): string;
  /** this player's session id in the room ('' before joining) */
  self(): string;
  /** the HUD's who-talks-to-whom line */
  talk(): string;
  mic(): { mode: string; muted: boolean; talking: boolean; sentFrames: number; dbfs: number; sent: boolean; speaking: boolean };
  npcs(): Record<string, NpcReadout>;
  caption(): string;
  latency(): { replies: number[]; yields: number[] };
  /** the plugin's echo canceller: on/off, ERLE, delay, cost */
  echo(): { on: boolean; erleDb: number; delayMs: number; costMs: number };
  /** rendered frames per second */
  fps(): number;
  /** the page's audio clock (AudioContext.currentTime, s): how far the output device has played, which a
   * loaded machine can run slower than the wall clock */
  audioTime(): number;
  /** render resolution divisor and frame cap (0 = none), as the ?scale= and ?fps= URL options */
  setRenderQuality(scale: number, fps: number): void;
  teleport(at: Vec3, lookAt: Vec3): void;
  walkTo(npc: string, distance: number): boolean;
}

const TRACE_MAX = 4000;

export function installTestHook(src: TestHookSource): { trace(e: TraceEntry): void; event(e: GameEvent): void } {
  const trace: TraceEntry[] = [];
  const events: GameEvent[] = [];
  const hook = {
    /** the player is in the ship with a live Parley session */
    get ready() {
      return src.ready();
    },
    teleport: (at: Vec3, lookAt: Vec3) => src.teleport(at, lookAt),
    /** stand `distance` m in front of an NPC, eyes level with its face, looking at it */
    walkTo: (npc: string, distance = 2) => src.walkTo(npc, distance),
    /** e.g. full resolution for a screenshot, then back to the cheap setting the test runs with */
    setRenderQuality: (scale: number, fps: number) => src.setRenderQuality(scale, fps),
    readout: () => ({
      session: src.session(),
      engine: src.engine(),
      heardBy: src.heardBy(),
      self: src.self(),
      talk: src.talk(),
      mic: src.mic(),
      npcs: src.npcs(),
      caption: src.caption(),
      latency: src.latency(),
      echo: src.echo(),
      fps: src.fps(),
      audioTime: src.audioTime(),
    }),
    trace: (since = 0) => trace.filter((e) => e.t >= since),
    events: (since = 0) => events.filter((e) => e.t >= since),
  };
  (window as unknown as { __parley: typeof hook }).__parley = hook;
  return {
    trace(e) {
      trace.push(e);
      if (trace.length > TRACE_MAX) trace.splice(0, trace.length - TRACE_MAX);
    },
    event(e) {
      events.push(e);
      if (events.length > TRACE_MAX) events.splice(0, events.length - TRACE_MAX);
    },
  };
}
