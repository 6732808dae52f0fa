/**
 * The Parley room, a router: Colyseus's hooks and the version check at join; each player message is decoded and
 * handed to that player's link (hello, voice → intake, pose); each tick the hearing stage mixes what every NPC
 * hears, the conductor steps the NPC streams, and voice out sends each NPC's voice to the players in its earshot.
 */
import { Room, ServerError, type Client } from '@colyseus/core';
import { decodeClient, encode, ProtocolError } from '../../protocol/envelope.ts';
import { Kind, PARLEY_CHANNEL, type ClientMsg, type NpcEvent } from '../../protocol/messages.ts';
import { versionMismatch } from '../../protocol/version.ts';
import type { StepOutput } from '../engines/contract.ts';
import { silentLogger, type Logger } from '../log.ts';
import type { ParleyMetrics } from '../metrics/parley-metrics.ts';
import type { Conductor, TickParticipant } from '../sessions/conductor.ts';
import type { TickInfo } from '../sessions/tick-clock.ts';
import { NpcStream, type VisemeTimelineLike } from '../sessions/npc-stream.ts';
import { normalise } from '../voice/hearing.ts';
import { HearingStage } from '../voice/hearing-stage.ts';
import type { EchoGateSlots } from '../voice/echo-gate-slots.ts';
import { VoiceOut } from '../voice/voice-out.ts';
import type { NpcDirectory, NpcPlacement } from './npc-directory.ts';
import { PlayerLink, type EchoGateMode } from './player-link.ts';
import { NpcState, ParleyState, PlayerState } from './state.ts';
import { Visibility } from './visibility.ts';
import { JoinRefused, type JoinGuard } from './join-guard.ts';
import { LogLimiter } from '../guard/log-limiter.ts';
import { distance } from '../voice/hearing.ts';
import type { Vec3 } from '../../protocol/messages.ts';
import { FRAME_MS } from '../../protocol/frame.ts';
import type { Heard } from '../scenes/heard-record.ts';
import { SceneStage, type HeardHandler } from '../scenes/scene-stage.ts';

export interface RoomServices {
  conductor: Conductor;
  metrics: ParleyMetrics;
  npcs: NpcDirectory;
  /** text pieces → timed viseme tracks, one timeline per NPC stream (lip-sync); optional */
  visemes?: (leadFrames: number) => VisemeTimelineLike;
  log?: Logger;
  /** who may join and how often (server/room/join-guard.ts); without one, anyone may, unlimited (unit tests) */
  joins?: JoinGuard;
  /** addresses the join limits skip (the development default: loopback) */
  exempt?: (ip: string) => boolean;
  /** an NPC finished speaking for a player, in any room: the words that player heard (docs/scenes.md) */
  onHeard?: (room: ParleyRoom, heard: Heard) => void;
  /** the process's cap on echo gates running at once (server/voice/echo-gate.ts); without one, no cap (unit tests) */
  echoGateSlots?: EchoGateSlots;
}

/** What a seat reservation carries from the matchmaker's auth to the room. */
interface JoinAuth {
  identity: string;
  /** not counted against the identity's seats (exempt address) */
  exempt?: boolean;
}

/** Colyseus transport codes a Parley client sends: join, Parley bytes, room data (refused per message), ping, leave. */
const CLIENT_CODES = new Set([10, 12, 13, 17, 18]);
/** Seat reservations that never connect expire this fast (seconds; Colyseus's default is 15). */
const SEAT_RESERVATION_S = 3;
/** Re-read invalid sheets of NPCs that are not placed this often (ms). */
const REPLACE_EVERY_MS = 2000;

/** Server-side room configuration; clients' join options can never place NPCs. */
export interface ParleyRoomConfig {
  npcs: NpcPlacement[];
  /** players per room */
  maxPlayers?: number;
  /**
   * Cancel the NPC voices a player's speakers play from that player's uplink (server/voice/echo-gate.ts). `auto`
   * (the default): for players whose client does not say it cancels its echo or wears headphones (hello's `echo`;
   * the plugin says so). It costs about 1 ms of CPU per player-frame, which kept 32 sessions from real time on
   * 2 cores when every player had it; true gates every player, false none.
   */
  echoGate?: EchoGateMode;
  /** where players start (the scene's playerStart): their first pose is then reached at walking speed, not jumped to */
  playerStart?: Vec3;
}

export class ParleyRoom extends Room<{ state: ParleyState }> implements TickParticipant {
  static services: RoomServices;
  static config: ParleyRoomConfig = { npcs: [] };

  override state = new ParleyState();
  /** hello + voice + pose at real time is ~25 messages/s; far past that the transport drops the client */
  override maxMessagesPerSecond = 200;
  private services!: RoomServices;
  private players = new Map<string, PlayerLink>();
  private npcs = new Map<string, NpcStream>();
  private hearing!: HearingStage;
  private voiceOut!: VoiceOut;
  private log: Logger = silentLogger;
  /** seat reservations counted against an identity: session → identity */
  private held = new Map<string, string>();
  /** placements whose sheet was invalid: retried until they place */
  private unplaced: NpcPlacement[] = [];
  private lastReplaceAt = 0;
  private lastTickAt = 0;
  private visibility = new Visibility();
  private ticks = 0;
  /** NPCs hearing NPCs, the floor, `talkingTo`, what each player heard (server/scenes/scene-stage.ts) */
  private scene!: SceneStage;

  /** A room type bound to the server's services (engine conductor, sheets, metrics) and its NPC layout. */
  static withServices(services: RoomServices, config: ParleyRoomConfig): typeof ParleyRoom {
    const refusedLog = new LogLimiter({ burst: 5, windowMs: 10_000 });
    return class BoundParleyRoom extends ParleyRoom {
      static override services = services;
      static override config = config;
      /** Matchmaking, before any seat: protocol version, then who it is and whether it may join now (HTTP status codes: the matchmaker answers over HTTP). */
      static override async onAuth(token: string | undefined, options: { protocol?: unknown; token?: unknown } = {}, context?: { ip?: string }): Promise<JoinAuth> {
        const log = services.log ?? silentLogger;
        const mismatch = versionMismatch(options?.protocol);
        if (mismatch) {
          services.metrics.refused.inc({ reason: 'protocol-version' });
          if (refusedLog.admit('protocol').write) log.warn({ reason: mismatch }, 'join refused');
          throw new ServerError(400, mismatch);
        }
        const ip = context?.ip ?? 'unknown';
        if (!services.joins) return { identity: `ip:${ip}`, exempt: true };
        if (services.exempt?.(ip)) return { identity: `ip:${ip}`, exempt: true };
        try {
          const who = await services.joins.admit(token ?? (typeof options?.token === 'string' ? options.token : undefined), ip);
          return { identity: who.id };
        } catch (err) {
          const code = err instanceof JoinRefused ? err.code : 'auth-failed';
          services.metrics.refused.inc({ reason: code });
          const v = refusedLog.admit(code);
          if (v.droppedBefore > 0) log.warn({ code, untold: v.droppedBefore }, 'more joins were refused');
          if (v.write) log.warn({ code, ip }, 'join refused');
          throw new ServerError(code === 'auth-failed' ? 401 : 429, err instanceof JoinRefused ? err.message : 'not authorised to join');
        }
      }
    };
  }

  override onCreate() {
    const { services, config } = this.constructor as typeof ParleyRoom;
    if (!services) throw new Error('ParleyRoom used without services: define it with ParleyRoom.withServices(...)');
    this.services = services;
    this.log = (services.log ?? silentLogger).child({ room: this.roomId });
    this.hearing = new HearingStage(services.metrics);
    this.scene = new SceneStage({ leadFrames: services.conductor.engine.textLeadFrames, tell: (h) => this.told(h), log: this.log });
    this.scene.attach(this.hearing);
    // the rehearsal engine keeps interruption policies and the floor itself; for the model engines the server ducks the players
    this.hearing.duckForPolicies = services.conductor.engine.name !== 'rehearsal';
    this.voiceOut = new VoiceOut(services.metrics);
    this.maxClients = config.maxPlayers ?? 32;
    this.seatReservationTimeout = SEAT_RESERVATION_S;
    this.countSeats();
    this.dropForeignFrames();
    this.state.engine = services.conductor.engine.label;
    for (const placement of config.npcs) if (!this.placeNpc(placement)) this.unplaced.push(placement);
    this.onMessageBytes(PARLEY_CHANNEL, (client: Client, bytes: Uint8Array) => this.onBytes(client, bytes));
    this.onMessage('*', (client: Client, type: string | number) => {
      this.players.get(client.sessionId)?.refuse('unknown-channel', `unknown message type ${JSON.stringify(type)}; Parley uses bytes on '${PARLEY_CHANNEL}'`);
    });
    services.conductor.join(this);
    this.log.info({ npcs: this.npcs.size }, 'room created');
  }

  /**
   * Seats reserved through the matchmaker count against their identity from reservation until the player leaves,
   * or until the reservation expires unused (Colyseus keeps `_reserveSeat` private; it is wrapped per instance).
   */
  private countSeats() {
    const joins = this.services.joins;
    if (!joins) return;
    const self = this as unknown as { _reserveSeat: (sessionId: string, options: unknown, auth?: JoinAuth, ...rest: unknown[]) => Promise<boolean> };
    const reserve = self._reserveSeat.bind(this);
    self._reserveSeat = async (sessionId, options, auth, ...rest) => {
      const ok = await reserve(sessionId, options, auth, ...rest);
      if (ok && auth?.identity && !auth.exempt && !this.held.has(sessionId)) {
        joins.hold(auth.identity);
        this.held.set(sessionId, auth.identity);
        setTimeout(() => {
          if (!this.players.has(sessionId)) this.releaseSeat(sessionId);
        }, this.seatReservationTimeout * 1000 + 100).unref();
      }
      return ok;
    };
  }

  private releaseSeat(sessionId: string) {
    const id = this.held.get(sessionId);
    if (id === undefined) return;
    this.held.delete(sessionId);
    this.services.joins?.release(id);
  }

  /**
   * Colyseus transport frames a Parley client never sends (requests, inputs, unknown codes) drop the connection
   * instead of each making an error line (Colyseus keeps `_onMessage` private; it is wrapped per instance).
   */
  private dropForeignFrames() {
    const self = this as unknown as { _onMessage: (client: Client, buffer: Uint8Array) => void };
    const onMessage = self._onMessage.bind(this);
    const dropped = new WeakSet<Client>();
    self._onMessage = (client, buffer) => {
      const code = buffer?.[0] === undefined ? -1 : buffer[0]! & 31;
      if (dropped.has(client)) return; // frames already on the wire when it was dropped
      if (CLIENT_CODES.has(code)) return onMessage(client, buffer);
      dropped.add(client);
      this.services.metrics.refused.inc({ reason: 'transport-frame' });
      if (this.players.has(client.sessionId)) this.players.get(client.sessionId)!.refuse('transport-frame', 'malformed transport frame; connection closed');
      client.leave(4400);
    };
  }

  /** Place the NPCs whose sheets were invalid when the room was made, once they are valid. */
  private replaceMissing(now: number) {
    if (this.unplaced.length === 0 || now - this.lastReplaceAt < REPLACE_EVERY_MS) return;
    this.lastReplaceAt = now;
    this.unplaced = this.unplaced.filter((p) => !this.placeNpc(p, true));
  }

  private placeNpc(p: NpcPlacement, retry = false): boolean {
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
      stream.earHeight = p.earHeight ?? 0;
      this.state.npcs.set(id, state);
      this.npcs.set(id, stream);
      stream.onPublished = () => {
        // the status patch goes out before the speech-started event reaches output(): name the addressee with it
        if (state.status === 'speaking' && !state.talkingTo) state.talkingTo = this.scene.addresseeOf(id);
        this.broadcastPatch();
      };
      if (retry) this.log.info({ npc: id }, `NPC '${id}' placed (its sheet is valid now)`);
      return true;
    } catch (err) {
      if (!retry) this.log.warn({ npc: id, err: (err as Error).message }, `NPC '${id}' not placed; retried while the room lives`);
      return false;
    }
  }


  override onJoin(client: Client) {
    const state = new PlayerState();
    Object.assign(state, { id: client.sessionId, x: 0, y: 0, z: 0, fx: 0, fy: 0, fz: 1, heardBy: '' });
    this.state.players.set(client.sessionId, state);
    const { config } = this.constructor as typeof ParleyRoom;
    const link = new PlayerLink(client, state, this.services.metrics, this.log.child({ player: client.sessionId }), {
      echoGate: config.echoGate,
      echoGateSlots: this.services.echoGateSlots,
      start: config.playerStart,
      heardAt: (p) => this.heardAt(p),
      onHostile: () => client.leave(4429),
    });
    this.players.set(client.sessionId, link);
    this.visibility.join(link);
    this.services.metrics.players.inc();
    this.log.info({ player: client.sessionId }, 'player joined');
  }

  override onLeave(client: Client) {
    this.releaseSeat(client.sessionId);
    this.scene.leave(client.sessionId);
    const link = this.players.get(client.sessionId);
    link?.countDropped();
    link?.dropEchoGate();
    if (link) this.visibility.leave(link);
    if (this.players.delete(client.sessionId)) this.services.metrics.players.inc({}, -1);
    this.state.players.delete(client.sessionId);
    this.log.info({ player: client.sessionId }, 'player left');
  }

  override async onDispose() {
    for (const sessionId of [...this.held.keys()]) this.releaseSeat(sessionId);
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
    if (!player || !player.admit(raw)) return; // voice past the player's budget is dropped before any decoding
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
        player.voice(msg);
        // the tick may run now rather than at its deadline if this was the last frame it waited for
        return this.services.conductor.frameArrived();
      case Kind.Pose:
        m.bytesReceived.inc({ stream: 'pose' }, raw.byteLength);
        return player.pose(msg);
      case Kind.Played:
        m.bytesReceived.inc({ stream: 'played' }, raw.byteLength);
        if (this.npcs.has(msg.npc)) this.scene.played(client.sessionId, msg.npc, msg.i);
        return;
    }
  }

  // ── the tick (called by the conductor) ──────────────────────────────────────────────────────────────────

  beginTick(tick: TickInfo, stepping: boolean) {
    const now = Date.now();
    const dt = this.lastTickAt === 0 ? FRAME_MS : Math.min(1000, now - this.lastTickAt);
    this.lastTickAt = now;
    this.replaceMissing(now);
    const players = [...this.players.values()];
    for (const p of players) {
      p.advance(dt);
      // demand is earned: none before hello and a known position; players whose voice arrives outrank those who only stand near
      p.countsForDemand = p.intake !== null && p.placed;
      p.voiced = p.voicing(now);
    }
    this.scene.beginTick(stepping, this.npcs.values());
    // On a tick whose step is skipped, players' and NPCs' voices stay queued for the next one.
    if (stepping) this.hearing.run(players, this.npcs.values(), Math.max(0, -tick.lateMs));
    this.scene.afterHearing(stepping, this.npcs.values());
    if (this.ticks++ % 5 === 0) this.visibility.refresh();
  }

  /** Whether any NPC of this room may hear a player standing at `p` (with a margin: the hearing stage decides). */
  private heardAt(p: Vec3): boolean {
    for (const npc of this.npcs.values()) if (distance(npc.position, p) <= npc.def.hearingRadius + 2) return true;
    return false;
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

  readyForTick() {
    return this.hearing.readyForTick();
  }

  output(stream: NpcStream, frameIndex: number, out: StepOutput, events: NpcEvent[]) {
    const to = this.voiceOut.deliver(stream, frameIndex, out, events, this.players.values());
    this.scene.output(stream, frameIndex, out.output, out.text, events, to.map((p) => p.client.sessionId));
  }

  /**
   * Game code: `handler(npcId, playerId, words, info)` once each time an NPC finishes speaking for a player (its
   * playback reached the end, or the cut when interrupted), with the words that player heard. Returns a remover.
   */
  onHeard(handler: HeardHandler): () => void {
    return this.scene.onHeard(handler);
  }

  /** One finished record, after the game's handlers: the server-wide hook and that player's client. */
  private told(h: Heard) {
    try {
      this.services.onHeard?.(this, h);
    } catch (err) {
      this.log.warn({ err, npc: h.npc }, 'the onHeard hook threw');
    }
    this.players.get(h.player)?.client.sendBytes(PARLEY_CHANNEL, encode({ k: Kind.Heard, npc: h.npc, words: h.words, interrupted: h.interrupted, reached: h.reached }));
  }
}
