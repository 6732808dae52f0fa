/**
 * One NPC's seat at the engine: its status, its model session (if any), what it hears this tick and where its
 * voice goes. The room owns the slot's world (position, hearing, listeners); the conductor owns its session.
 */
import type { NpcEvent, NpcStatus } from '../../protocol/messages.ts';
import { FRAME_SAMPLES } from '../../protocol/frame.ts';
import type { Persona, SessionId, StepOutput } from '../engines/contract.ts';

export interface SlotDemand {
  /** some player is within hearing radius */
  inRange: boolean;
  /** distance to the nearest player in range (priority when capacity is short) */
  nearest: number;
}

export interface SlotOwner {
  /** resolve the NPC's persona now (sheets may have changed since the last session) */
  persona(slot: NpcSlot): Persona;
  /** status changed (room state + event to players in earshot) */
  status(slot: NpcSlot, status: NpcStatus, detail?: { progress?: number; message?: string }): void;
  /** one output frame of this NPC's session, with its stream frame index */
  output(slot: NpcSlot, frameIndex: number, out: StepOutput, events: NpcEvent[]): void;
}

export class NpcSlot {
  status: NpcStatus = 'idle';
  session: SessionId | null = null;
  opening = false;
  /** frame index on this NPC's voice stream; keeps counting across sessions so clients never see it go back */
  frameIndex = 0;
  demand: SlotDemand = { inRange: false, nearest: Infinity };
  /** this tick's hearing mix */
  input: Float32Array = new Float32Array(FRAME_SAMPLES);
  lastInRangeAt = 0;
  retryAt = 0;
  failures = 0;
  lastError = '';

  constructor(
    readonly key: string,
    readonly npcId: string,
    readonly owner: SlotOwner,
  ) {}

  setStatus(status: NpcStatus, detail?: { progress?: number; message?: string }) {
    if (status === this.status && detail?.progress === undefined) return;
    this.status = status;
    this.owner.status(this, status, detail);
  }
}
