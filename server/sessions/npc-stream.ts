/**
 * One NPC's stream: everything the server keeps for one NPC between the players' voices and the NPC's voice —
 * its seat at the engine, what it hears this tick, its speech tracking, its voice encoders and lip-sync
 * timeline, and its synced state. The seat moves only through the named transitions below; each one writes
 * the derived status to the NPC's synced state, the one channel players read an NPC's status from.
 */
import type { Codec } from '../../protocol/codecs.ts';
import type { NpcEvent, Vec3 } from '../../protocol/messages.ts';
import type { VisemeTrack } from '../../protocol/visemes.ts';
import type { FrameEncoder } from '../codec/index.ts';
import type { Persona, SessionId, StepOutput } from '../engines/contract.ts';
import type { Logger } from '../log.ts';
import type { NpcDefinition, NpcDirectory } from '../room/npc-directory.ts';
import type { NpcState } from '../room/state.ts';
import { HearingMixer } from '../voice/mixer.ts';
import { failuresOf, statusOf, type Seat, type SeatKind, type StatusView } from './seat.ts';
import { SpeechTracker } from './speech-tracker.ts';

export interface VisemeTimelineLike {
  onFrame(frameIndex: number, piece?: string): VisemeTrack | undefined;
  interrupt(frameIndex: number): void;
}

export interface Demand {
  /** some player is within hearing radius */
  inRange: boolean;
  /** distance to the nearest player in range (priority when capacity is short) */
  nearest: number;
  /** some player in range is sending voice: served before (and may take the seat of) NPCs only stood near */
  voiced?: boolean;
}

/** What players may read of a status: errors and engine-made busy reasons become generic. */
export function publicView(view: StatusView): StatusView {
  if (view.status === 'error') return { ...view, detail: ERROR_DETAIL };
  if (view.status === 'busy' && !/^engine at capacity \(\d+ sessions\)$/.test(view.detail)) return { ...view, detail: 'engine busy' };
  return view;
}

/** The detail players see for any error. */
export const ERROR_DETAIL = 'unavailable right now (the reason is in the server log)';

/** Warming progress reaches players in steps of at least this much (a long prompt phase reports every step). */
const PROGRESS_STEP = 0.05;

export class NpcStream {
  private seatNow: Seat = { kind: 'idle' };
  /** frame index on this NPC's voice stream; keeps counting across sessions so clients never see it go back */
  frameIndex = 0;
  demand: Demand = { inRange: false, nearest: Infinity };
  lastInRangeAt = 0;
  /** this tick's hearing mix (the mixer's buffer, reused every tick) */
  readonly mixer = new HearingMixer();
  input: Float32Array = this.mixer.out;
  /** one encoder per codec some listener receives, created on first use */
  readonly encoders: Partial<Record<Codec, FrameEncoder>> = {};
  private tracker = new SpeechTracker();
  /**
   * Called after a status change was written to the synced state. The room flushes state at once then, so a
   * status shorter than a patch interval (a session that opens within one tick) still reaches players.
   */
  onPublished: (() => void) | null = null;
  /** metres above `position` where it hears (NpcPlacement.earHeight); the hearing stage measures from there */
  earHeight = 0;
  /** this tick: the player turn it heard went to another NPC (server/scenes/floor.ts), passed to the engine */
  floorElsewhere = false;

  constructor(
    readonly id: string,
    /** unique across rooms, for logs */
    readonly key: string,
    private readonly sheet: string,
    public def: NpcDefinition,
    readonly state: NpcState,
    readonly position: Vec3,
    readonly facing: Vec3,
    private readonly directory: NpcDirectory,
    readonly visemes: VisemeTimelineLike | null,
    readonly log: Logger,
  ) {
    this.publish();
  }

  get seat(): Readonly<Seat> {
    return this.seatNow;
  }

  /** Fresh from the sheet: an edit applies to the next session. Radii follow the sheet too. */
  persona(): Persona {
    const def = this.directory.resolve(this.sheet);
    this.def = def;
    this.state.hearingRadius = def.hearingRadius;
    this.state.audibleRadius = def.audibleRadius;
    return def.persona;
  }

  // ── transitions ─────────────────────────────────────────────────────────────────────────────────────────

  /** idle | waiting | failed → opening */
  open() {
    const s = this.expect('open', 'idle', 'waiting', 'failed');
    this.move({ kind: 'opening', progress: 0, failures: failuresOf(s) });
  }

  /** opening → opening, further along its prompt phase */
  progress(fraction: number) {
    const s = this.seatNow;
    if (s.kind !== 'opening') return; // a late report from a session already given up
    this.move({ ...s, progress: fraction });
  }

  /** opening → live */
  opened(session: SessionId) {
    const s = this.expect('opened', 'opening');
    this.tracker = new SpeechTracker();
    this.move({ kind: 'live', session, speaking: false, failures: failuresOf(s) });
  }

  /** idle | waiting | failed → waiting for a seat */
  wait(reason: string, notBefore = 0) {
    const s = this.expect('wait', 'idle', 'waiting', 'failed');
    this.move({ kind: 'waiting', reason, notBefore, failures: failuresOf(s) });
  }

  /** waiting | failed → idle: nobody is near any more */
  release() {
    this.expect('release', 'waiting', 'failed');
    this.move({ kind: 'idle' });
  }

  /** live → idle; returns the session for the engine to close */
  close(): SessionId {
    const s = this.expect('close', 'live');
    this.move({ kind: 'idle' });
    return s.session;
  }

  /** opening | live → failed; returns the live session (to close), if there was one */
  fail(message: string, retryAt: number): SessionId | null {
    const s = this.expect('fail', 'opening', 'live');
    this.move({ kind: 'failed', message, retryAt, failures: s.failures + 1 });
    return s.kind === 'live' ? s.session : null;
  }

  /** opening | live → waiting: the engine has no room now, which is not a fault of this NPC */
  requeue(reason: string, notBefore: number): SessionId | null {
    const s = this.expect('requeue', 'opening', 'live');
    this.move({ kind: 'waiting', reason, notBefore, failures: s.failures });
    return s.kind === 'live' ? s.session : null;
  }

  /** live → live: one good output frame; returns the speech events it makes. Advance `frameIndex` after delivery. */
  heard(out: StepOutput, input: Float32Array): NpcEvent[] {
    const s = this.expect('heard', 'live');
    const events = this.tracker.update(this.frameIndex, out.output, out.text, input, out.events);
    if (s.failures !== 0 || s.speaking !== this.tracker.speaking) this.move({ ...s, failures: 0, speaking: this.tracker.speaking });
    return events;
  }

  // ── status ──────────────────────────────────────────────────────────────────────────────────────────────

  private expect<K extends SeatKind>(transition: string, ...from: K[]): Extract<Seat, { kind: K }> {
    const s = this.seatNow;
    if (!(from as SeatKind[]).includes(s.kind)) throw new Error(`NPC ${this.key}: '${transition}' from seat '${s.kind}' (allowed from ${from.join(', ')})`);
    return s as Extract<Seat, { kind: K }>;
  }

  private move(next: Seat) {
    this.seatNow = next;
    this.publish();
  }

  /**
   * Write the derived status to the synced state, changed fields only. Players see a generic detail (the reason
   * for an error, which can name sheet files, parser messages or worker failures, stays on the seat and in the log).
   */
  private publish() {
    const view = publicView(statusOf(this.seatNow));
    const st = this.state;
    // compared as players see it: progress travels as a float32
    const step = Math.fround(view.progress) - Math.fround(st.progress);
    if (view.status === 'warming' && st.status === 'warming' && view.progress < 1 && Math.abs(step) < PROGRESS_STEP) return;
    if (st.status === view.status && st.progress === view.progress && st.detail === view.detail) return;
    if (st.status !== view.status) st.status = view.status;
    if (st.progress !== view.progress) st.progress = view.progress;
    if (st.detail !== view.detail) st.detail = view.detail;
    this.onPublished?.();
  }
}
