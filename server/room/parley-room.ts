/**
 * The Parley room, a router: Colyseus's hooks and the version check at join; each player message is decoded and
 * handed to that player's link (hello, voice → intake, pose); each tick the hearing stage mixes what every NPC
 * hears, the conductor steps the NPC streams, and voice out sends each NPC's voice to the players in its earshot.
 */
import { Room, ServerError, type Client } from '@colyseus/core';
import { decodeClient, ProtocolError } from '../../protocol/envelope.ts';
import { Kind, PARLEY_CHANNEL, type ClientMsg, type NpcEvent } from '../../protocol/messages.ts';
import { versionMismatch } from '../../protocol/version.ts';
import type { StepOutput } from '../engines/contract.ts';
import { silentLogger, type Logger } from '../log.ts';
import type { ParleyMetrics } from '../metrics/parley-metrics.ts';
import type { Conductor, TickParticipant } from '../sessions/conductor.ts';
import { NpcStream, type VisemeTimelineLike } from '../sessions/npc-stream.ts';
import { normalise } from '../voice/hearing.ts';
import { HearingStage } from '../voice/hearing-stage.ts';
import { VoiceOut } from '../voice/voice-out.ts';
import type { NpcDirectory, NpcPlacement } from './npc-directory.ts';
import { PlayerLink } from './player-link.ts';
import { NpcState, ParleyState, PlayerState } from './state.ts';

export interface RoomServices {
  conductor: Conductor;
  metrics: ParleyMetrics;
  npcs: NpcDirectory;
  /** text pieces → timed viseme tracks, one timeline per NPC stream (lip-sync); optional */
  visemes?: (leadFrames: number) => VisemeTimelineLike;
  log?: Logger;
}

/** Server-side room configuration; clients' join options can never place NPCs. */
export interface ParleyRoomConfig {
  npcs: NpcPlacement[];
  /** players per room */
  maxPlayers?: number;
  /** cancel the NPC voices each player's speakers play from that player's uplink (default on; server/voice/echo-gate.ts) */
  echoGate?: boolean;
}

export class ParleyRoom extends Room<{ state: ParleyState }> implements TickParticipant {
  static services: RoomServices;
  static config: ParleyRoomConfig = { npcs: [] };

  override state = new ParleyState();
  /** hello + voice + pose at real time is ~25 messages/s; far past that the transport drops the client */
  override maxMessagesPerSecond = 400;
  private services!: RoomServices;
  private players = new Map<string, PlayerLink>();
  private npcs = new Map<string, NpcStream>();
  private hearing!: HearingStage;
  private voiceOut!: VoiceOut;
  private log: Logger = silentLogger;

  /** A room type bound to the server's services (engine conductor, sheets, metrics) and its NPC layout. */
  static withServices(services: RoomServices, config: ParleyRoomConfig): typeof ParleyRoom {
    return class BoundParleyRoom extends ParleyRoom {
      static override services = services;
      static override config = config;
    };
  }

  override onCreate() {
    const { services, config } = this.constructor as typeof ParleyRoom;
    if (!services) throw new Error('ParleyRoom used without services: define it with ParleyRoom.withServices(...)');
    this.services = services;
    this.log = (services.log ?? silentLogger).child({ room: this.roomId });
    this.hearing = new HearingStage(services.metrics);
    this.voiceOut = new VoiceOut(services.metrics);
    this.maxClients = config.maxPlayers ?? 32;
    this.state.engine = services.conductor.engine.label;
    for (const placement of config.npcs) this.placeNpc(placement);
    this.onMessageBytes(PARLEY_CHANNEL, (client: Client, bytes: Uint8Array) => this.onBytes(client, bytes));
    this.onMessage('*', (client: Client, type: string | number) => {
      this.players.get(client.sessionId)?.refuse('unknown-channel', `unknown message type ${JSON.stringify(type)}; Parley uses bytes on '${PARLEY_CHANNEL}'`);
    });
    services.conductor.join(this);
    this.log.info({ npcs: this.npcs.size }, 'room created');
  }

  private placeNpc(p: NpcPlacement) {
    const id = p.id ?? p.sheet;
    try {
      if (this.npcs.has(id)) throw new Error(`an NPC with id '${id}' is already placed`);
      const def = this.services.npcs.resolve(p.sheet);
      const facing = normalise(p.facing ?? [0, 0, 1]);
      const state = new NpcState();
      Object.assign(state, {
        id, name: def.name, role: def.role, x: p.position[0], y: p.position[1], z: p.position[2], fx: facing[0], fy: facing[1], fz: facing[2],
        hearingRadius: def.hearingRadius, audibleRadius: def.audibleRadius,
      });
      const visemes = this.services.visemes?.(this.services.conductor.engine.textLeadFrames) ?? null;
      const stream = new NpcStream(id, `${this.roomId}/${id}`, p.sheet, def, state, [...p.position], facing, this.services.npcs, visemes, this.log.child({ npc: id }));
      this.state.npcs.set(id, state);
      this.npcs.set(id, stream);
      stream.onPublished = () => this.broadcastPatch();
    } catch (err) {
      this.log.warn({ npc: id, err: (err as Error).message }, `NPC '${id}' not placed`);
    }
  }

  override onAuth(_client: Client, options: { protocol?: unknown } = {}) {
    const mismatch = versionMismatch(options.protocol);
    if (mismatch) {
      this.services.metrics.refused.inc({ reason: 'protocol-version' });
      this.log.warn({ reason: mismatch }, 'join refused');
      throw new ServerError(4400, mismatch);
    }
    return true;
  }

  override onJoin(client: Client) {
    const state = new PlayerState();
    Object.assign(state, { id: client.sessionId, x: 0, y: 0, z: 0, fx: 0, fy: 0, fz: 1, heardBy: '' });
    this.state.players.set(client.sessionId, state);
    const { config } = this.constructor as typeof ParleyRoom;
    const link = new PlayerLink(client, state, this.services.metrics, this.log.child({ player: client.sessionId }), { echoGate: config.echoGate });
    this.players.set(client.sessionId, link);
    this.services.metrics.players.inc();
    this.log.info({ player: client.sessionId }, 'player joined');
  }

  override onLeave(client: Client) {
    if (this.players.delete(client.sessionId)) this.services.metrics.players.inc({}, -1);
    this.state.players.delete(client.sessionId);
    this.log.info({ player: client.sessionId }, 'player left');
  }

  override async onDispose() {
    await this.services.conductor.leave(this);
    this.log.info('room disposed');
  }

  override onUncaughtException(error: Error, method: string) {
    this.log.error({ err: error, method }, 'uncaught exception');
  }

  // ── player messages ──────────────────────────────────────────────────────────────────────────────────────

  private onBytes(client: Client, raw: Uint8Array) {
    const m = this.services.metrics;
    const player = this.players.get(client.sessionId);
    if (!player) return;
    let msg: ClientMsg;
    try {
      msg = decodeClient(raw);
    } catch (err) {
      m.bytesReceived.inc({ stream: 'invalid' }, raw.byteLength);
      return player.refuse(err instanceof ProtocolError ? err.code : 'malformed', (err as Error).message);
    }
    switch (msg.k) {
      case Kind.Hello:
        m.bytesReceived.inc({ stream: 'hello' }, raw.byteLength);
        return player.hello(msg, this.services.conductor.engine);
      case Kind.Voice:
        m.bytesReceived.inc({ stream: 'voice' }, raw.byteLength);
        return player.voice(msg);
      case Kind.Pose:
        m.bytesReceived.inc({ stream: 'pose' }, raw.byteLength);
        return player.pose(msg);
    }
  }

  // ── the tick (called by the conductor) ──────────────────────────────────────────────────────────────────

  beginTick() {
    this.hearing.run([...this.players.values()], this.npcs.values());
  }

  streams() {
    return this.npcs.values();
  }

  /** The tick's phase against this room's players' frames (server/voice/hearing-stage.ts). */
  phaseWishMs() {
    return this.hearing.phaseWishMs();
  }

  phaseShifted(ms: number) {
    this.hearing.phaseShifted(ms);
  }

  output(stream: NpcStream, frameIndex: number, out: StepOutput, events: NpcEvent[]) {
    this.voiceOut.deliver(stream, frameIndex, out, events, this.players.values());
  }
}
