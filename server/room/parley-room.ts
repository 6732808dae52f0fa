/**
 * The Parley room: players join with their pose and voice; NPCs are placed from character sheets. Each tick the
 * room mixes what every NPC hears, the conductor steps the NPCs' sessions, and the room sends each NPC's voice,
 * text and events to the players within its audible radius. A player's voice goes into NPC inputs only.
 */
import { Room, ServerError, type Client } from '@colyseus/core';
import { CODECS, negotiateCodec, type Codec } from '../../protocol/codecs.ts';
import { encode, decodeClient, ProtocolError } from '../../protocol/envelope.ts';
import { Kind, PARLEY_CHANNEL, type ClientMsg, type NpcEvent, type NpcStatus, type ServerMsg, type Vec3 } from '../../protocol/messages.ts';
import { PROTOCOL_VERSION, versionMismatch } from '../../protocol/version.ts';
import type { VisemeTrack } from '../../protocol/visemes.ts';
import { createEncoder, type FrameEncoder } from '../codec/index.ts';
import type { StepOutput } from '../engines/contract.ts';
import type { ParleyMetrics } from '../metrics/parley-metrics.ts';
import type { Conductor, TickParticipant } from '../sessions/conductor.ts';
import { NpcSlot, type SlotOwner } from '../sessions/npc-slot.ts';
import type { TickInfo } from '../sessions/tick-clock.ts';
import { distance, hearingWeight, normalise } from '../voice/hearing.ts';
import { PlayerVoiceIntake, SILENCE } from '../voice/intake.ts';
import { HearingMixer } from '../voice/mixer.ts';
import type { NpcDirectory, NpcPlacement, NpcDefinition } from './npc-directory.ts';
import { NpcState, ParleyState, PlayerState } from './state.ts';

export interface VisemeTimelineLike {
  onFrame(frameIndex: number, piece?: string): VisemeTrack | undefined;
  interrupt(frameIndex: number): void;
}

export interface RoomServices {
  conductor: Conductor;
  metrics: ParleyMetrics;
  npcs: NpcDirectory;
  /** text pieces → timed viseme tracks, one timeline per NPC stream (lip-sync); optional */
  visemes?: (leadFrames: number) => VisemeTimelineLike;
  log?: (line: string) => void;
}

/** Server-side room configuration; clients' join options can never place NPCs. */
export interface ParleyRoomConfig {
  npcs: NpcPlacement[];
  /** players per room */
  maxPlayers?: number;
}

interface Player {
  client: Client;
  state: PlayerState;
  position: Vec3;
  facing: Vec3;
  intake: PlayerVoiceIntake | null;
  recv: Codec | null;
  frame: Float32Array;
  refusals: { windowStart: number; inWindow: number; suppressed: number };
}

interface Npc {
  id: string;
  sheet: string;
  def: NpcDefinition;
  state: NpcState;
  position: Vec3;
  facing: Vec3;
  slot: NpcSlot;
  mixer: HearingMixer;
  encoders: Partial<Record<Codec, FrameEncoder>>;
  visemes: VisemeTimelineLike | null;
}

/** Refusals logged and told to a player: at most this many per window; the rest are counted and summarised. */
const REFUSAL_BURST = 8;
const REFUSAL_WINDOW_MS = 5000;

export class ParleyRoom extends Room<{ state: ParleyState }> implements TickParticipant, SlotOwner {
  static services: RoomServices;
  static config: ParleyRoomConfig = { npcs: [] };

  override state = new ParleyState();
  /** hello + voice + pose at real time is ~25 messages/s; far past that the transport drops the client */
  override maxMessagesPerSecond = 400;
  private services!: RoomServices;
  private players = new Map<string, Player>();
  private npcs = new Map<string, Npc>();
  private bySlot = new Map<NpcSlot, Npc>();
  private log: (line: string) => void = console.log;

  /** A room type bound to the server's services (engine conductor, sheets, metrics) and its NPC layout. */
  static withServices(services: RoomServices, config: ParleyRoomConfig): typeof ParleyRoom {
    return class BoundParleyRoom extends ParleyRoom {
      static override services = services;
      static override config = config;
    };
  }

  override onCreate() {
    const options = (this.constructor as typeof ParleyRoom).config;
    this.services = (this.constructor as typeof ParleyRoom).services;
    if (!this.services) throw new Error('ParleyRoom used without services: define it with ParleyRoom.withServices(...)');
    this.log = this.services.log ?? console.log;
    this.maxClients = options.maxPlayers ?? 32;
    this.state.engine = this.services.conductor.engine.label;
    for (const placement of options.npcs) this.placeNpc(placement);
    this.onMessageBytes(PARLEY_CHANNEL, (client: Client, bytes: Uint8Array) => this.onBytes(client, bytes));
    this.onMessage('*', (client: Client, type: string | number) => {
      this.refuse(client, 'unknown-channel', `unknown message type ${JSON.stringify(type)}; Parley uses bytes on '${PARLEY_CHANNEL}'`, 0);
    });
    this.services.conductor.join(this);
    this.log(`[room ${this.roomId}] created with ${this.npcs.size} NPC(s)`);
  }

  private placeNpc(p: NpcPlacement) {
    const id = p.id ?? p.sheet;
    let def: NpcDefinition;
    try {
      if (this.npcs.has(id)) throw new Error(`an NPC with id '${id}' is already placed`);
      def = this.services.npcs.resolve(p.sheet);
    } catch (err) {
      this.log(`[room ${this.roomId}] NPC '${id}' not placed: ${(err as Error).message}`);
      return;
    }
    const state = new NpcState();
    const facing = normalise(p.facing ?? [0, 0, 1]);
    Object.assign(state, {
      id, name: def.name, role: def.role, x: p.position[0], y: p.position[1], z: p.position[2],
      fx: facing[0], fy: facing[1], fz: facing[2], status: 'idle', progress: 0, detail: '',
      hearingRadius: def.hearingRadius, audibleRadius: def.audibleRadius,
    });
    this.state.npcs.set(id, state);
    const slot = new NpcSlot(`${this.roomId}/${id}`, id, this);
    const lead = this.services.conductor.engine.textLeadFrames;
    const npc: Npc = {
      id, sheet: p.sheet, def, state, position: [...p.position], facing, slot, mixer: new HearingMixer(),
      encoders: {}, visemes: this.services.visemes?.(lead) ?? null,
    };
    this.npcs.set(id, npc);
    this.bySlot.set(slot, npc);
  }

  override onAuth(_client: Client, options: { protocol?: unknown } = {}) {
    const mismatch = versionMismatch(options.protocol);
    if (mismatch) {
      this.services.metrics.refused.inc({ reason: 'protocol-version' });
      this.log(`[room ${this.roomId}] join refused: ${mismatch}`);
      throw new ServerError(4400, mismatch);
    }
    return true;
  }

  override onJoin(client: Client) {
    const state = new PlayerState();
    Object.assign(state, { id: client.sessionId, x: 0, y: 0, z: 0, fx: 0, fy: 0, fz: 1, heardBy: '' });
    this.state.players.set(client.sessionId, state);
    this.players.set(client.sessionId, {
      client, state, position: [0, 0, 0], facing: [0, 0, 1], intake: null, recv: null, frame: SILENCE, refusals: { windowStart: 0, inWindow: 0, suppressed: 0 },
    });
    this.services.metrics.players.inc();
    this.log(`[room ${this.roomId}] player ${client.sessionId} joined`);
  }

  override onLeave(client: Client) {
    if (this.players.delete(client.sessionId)) this.services.metrics.players.inc({}, -1);
    this.state.players.delete(client.sessionId);
    this.log(`[room ${this.roomId}] player ${client.sessionId} left`);
  }

  override async onDispose() {
    await this.services.conductor.leave(this);
    this.log(`[room ${this.roomId}] disposed`);
  }

  override onUncaughtException(error: Error, method: string) {
    this.log(`[room ${this.roomId}] uncaught in ${method}: ${error.stack ?? error.message}`);
  }

  // ── player messages ──────────────────────────────────────────────────────────────────────────────────────

  private onBytes(client: Client, raw: Uint8Array) {
    const m = this.services.metrics;
    let msg: ClientMsg;
    try {
      msg = decodeClient(raw);
    } catch (err) {
      const reason = err instanceof ProtocolError ? err.code : 'malformed';
      m.bytesReceived.inc({ stream: 'invalid' }, raw.byteLength);
      this.refuse(client, reason, (err as Error).message, raw.byteLength);
      return;
    }
    const player = this.players.get(client.sessionId);
    if (!player) return;
    switch (msg.k) {
      case Kind.Hello: {
        m.bytesReceived.inc({ stream: 'hello' }, raw.byteLength);
        const mismatch = versionMismatch(msg.v);
        if (mismatch) return this.refuse(client, 'protocol-version', mismatch, 0);
        const send = negotiateCodec(msg.send);
        const recv = negotiateCodec(msg.recv);
        if (!send || !recv) {
          return this.refuse(client, 'no-codec', `no codec in common: server speaks ${CODECS.join(', ')}`, 0);
        }
        player.intake = new PlayerVoiceIntake(send);
        player.recv = recv;
        this.sendTo(client, {
          k: Kind.Welcome, v: PROTOCOL_VERSION, send, recv, t: Date.now(),
          lead: this.services.conductor.engine.textLeadFrames, engine: this.services.conductor.engine.label,
        }, 'event');
        return;
      }
      case Kind.Voice: {
        m.bytesReceived.inc({ stream: 'voice' }, raw.byteLength);
        if (!player.intake) return this.refuse(client, 'no-hello', 'voice frame before hello', 0);
        const r = player.intake.push(msg);
        if (r.ok && r.overflow) {
          // faster than real time: the oldest frame was dropped to keep the buffer (and the delay) bounded
          m.framesDropped.inc({ stream: 'player_voice', reason: 'overflow' });
          const dropped = player.intake.buffer.stats.overflow;
          if (dropped === 1 || dropped % 100 === 0) {
            this.log(`[room ${this.roomId}] player ${client.sessionId} sends voice faster than real time (${player.intake.rate().toFixed(1)} frames/s, 12.5 expected); ${dropped} frame(s) dropped`);
          }
        } else if (!r.ok) {
          if (r.reason === 'late' || r.reason === 'duplicate') {
            m.framesLate.inc({ stream: 'player_voice', reason: r.reason });
          } else {
            this.refuse(client, r.reason, r.message, 0);
          }
        }
        return;
      }
      case Kind.Pose: {
        m.bytesReceived.inc({ stream: 'pose' }, raw.byteLength);
        player.position = msg.p;
        player.facing = normalise(msg.f);
        Object.assign(player.state, { x: msg.p[0], y: msg.p[1], z: msg.p[2], fx: player.facing[0], fy: player.facing[1], fz: player.facing[2] });
        return;
      }
    }
  }

  private refuse(client: Client, code: string, message: string, _bytes: number) {
    const m = this.services.metrics;
    m.refused.inc({ reason: code });
    // A flood of bad messages must not become a flood of log lines: a burst per window, then a summary.
    const r = this.players.get(client.sessionId)?.refusals ?? { windowStart: 0, inWindow: 0, suppressed: 0 };
    const now = Date.now();
    if (now - r.windowStart >= REFUSAL_WINDOW_MS) {
      if (r.suppressed > 0) this.log(`[room ${this.roomId}] ${r.suppressed} more refusal(s) from ${client.sessionId} were not logged`);
      Object.assign(r, { windowStart: now, inWindow: 0, suppressed: 0 });
    }
    if (++r.inWindow > REFUSAL_BURST) {
      r.suppressed++;
      return;
    }
    this.log(`[room ${this.roomId}] refused from ${client.sessionId} (${code}): ${message}`);
    this.sendTo(client, { k: Kind.Refused, code, message }, 'event');
  }

  private sendTo(client: Client, msg: ServerMsg, stream: string) {
    const bytes = encode(msg);
    this.services.metrics.bytesSent.inc({ stream }, bytes.byteLength);
    client.sendBytes(PARLEY_CHANNEL, bytes);
  }

  // ── the tick ────────────────────────────────────────────────────────────────────────────────────────────

  beginTick(_tick: TickInfo) {
    const m = this.services.metrics;
    const players = [...this.players.values()];
    for (const p of players) {
      p.frame = p.intake?.pop() ?? SILENCE;
      if (p.intake && p.frame === SILENCE && p.intake.buffer.stats.missing > 0) m.framesMissing.inc();
    }
    const best = new Map<Player, { npc: string; w: number }>();
    const weights = new Array<number>(players.length);
    const frames = players.map((p) => p.frame);
    for (const npc of this.npcs.values()) {
      const listener = { position: npc.position, facing: npc.facing, hearingRadius: npc.def.hearingRadius };
      let nearest = Infinity;
      players.forEach((p, i) => {
        const w = hearingWeight(listener, { position: p.position, facing: p.facing });
        weights[i] = w;
        if (w > 0) {
          nearest = Math.min(nearest, distance(npc.position, p.position));
          const b = best.get(p);
          if (!b || w > b.w) best.set(p, { npc: npc.id, w });
        }
      });
      npc.slot.demand = { inRange: nearest < Infinity, nearest };
      npc.slot.input = npc.mixer.mix(frames, weights);
    }
    for (const p of players) {
      const heardBy = best.get(p)?.npc ?? '';
      if (p.state.heardBy !== heardBy) p.state.heardBy = heardBy;
    }
  }

  *slots() {
    for (const npc of this.npcs.values()) yield npc.slot;
  }

  // ── slot owner: sessions call back here ──────────────────────────────────────────────────────────────────

  persona(slot: NpcSlot) {
    const npc = this.bySlot.get(slot)!;
    // Fresh from the sheet: an edit applies to the next session. Radii follow the sheet too.
    const def = this.services.npcs.resolve(npc.sheet);
    npc.def = def;
    npc.state.hearingRadius = def.hearingRadius;
    npc.state.audibleRadius = def.audibleRadius;
    return def.persona;
  }

  status(slot: NpcSlot, status: NpcStatus, detail?: { progress?: number; message?: string }) {
    const npc = this.bySlot.get(slot);
    if (!npc) return;
    // Prompt phases report progress every step: pass on a change of status, or of at least 5 points of progress.
    const progress = detail?.progress;
    const sameWarming = status === 'warming' && npc.state.status === 'warming' && progress !== undefined;
    if (sameWarming && progress < 1 && Math.abs(progress - npc.state.progress) < 0.05) return;
    npc.state.status = status;
    npc.state.progress = progress ?? (status === 'warming' ? npc.state.progress : 0);
    npc.state.detail = detail?.message ?? '';
    const event: NpcEvent = { e: 'state', state: status, ...(detail?.progress !== undefined ? { progress: detail.progress } : {}), ...(detail?.message ? { detail: detail.message } : {}) };
    this.broadcastEvent(npc, event, [...this.players.values()]);
    if (status === 'error' && detail?.message) this.broadcastEvent(npc, { e: 'error', message: detail.message }, [...this.players.values()]);
  }

  output(slot: NpcSlot, frameIndex: number, out: StepOutput, events: NpcEvent[]) {
    const npc = this.bySlot.get(slot);
    if (!npc) return;
    const listeners = [...this.players.values()].filter(
      (p) => p.recv !== null && distance(p.position, npc.position) <= npc.def.audibleRadius,
    );
    for (const ev of events) if (ev.e === 'interrupted') npc.visemes?.interrupt(frameIndex);
    const vis = npc.visemes?.onFrame(frameIndex, out.text);
    if (listeners.length === 0) return;
    const now = Date.now();
    const m = this.services.metrics;
    // Events first: an 'interrupted' must reach the client before the frames after it.
    for (const ev of events) this.broadcastEvent(npc, ev, listeners);
    for (const codec of new Set(listeners.map((p) => p.recv!))) {
      const encoder = (npc.encoders[codec] ??= createEncoder(codec));
      const bytes = encode({ k: Kind.NpcVoice, npc: npc.id, i: frameIndex, t: now, codec, data: encoder.encode(out.output), ...(vis ? { vis } : {}) });
      for (const p of listeners) {
        if (p.recv !== codec) continue;
        p.client.sendBytes(PARLEY_CHANNEL, bytes);
        m.bytesSent.inc({ stream: 'npc_voice', codec }, bytes.byteLength);
      }
    }
    if (out.text !== undefined) {
      const bytes = encode({ k: Kind.Text, npc: npc.id, i: frameIndex, piece: out.text });
      for (const p of listeners) {
        p.client.sendBytes(PARLEY_CHANNEL, bytes);
        m.bytesSent.inc({ stream: 'text' }, bytes.byteLength);
      }
    }
  }

  private broadcastEvent(npc: Npc, ev: NpcEvent, to: Player[]) {
    const bytes = encode({ k: Kind.NpcEvent, npc: npc.id, ...ev });
    for (const p of to) {
      if (p.recv === null) continue;
      p.client.sendBytes(PARLEY_CHANNEL, bytes);
      this.services.metrics.bytesSent.inc({ stream: 'event' }, bytes.byteLength);
    }
  }
}
