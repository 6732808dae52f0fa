/**
 * One player's link, as the room sees it: pose, the handshake (protocol version, a codec each way), the voice
 * intake it opens, and refusals (counted, told to the player and logged within a rate limit). What the hearing
 * stage and voice out read of a player lives here.
 */
import type { Client } from '@colyseus/core';
import { CODECS, negotiateCodec, type Codec } from '../../protocol/codecs.ts';
import { encode, peekKind } from '../../protocol/envelope.ts';
import { Kind, PARLEY_CHANNEL, type EchoHandling, type HelloMsg, type PoseMsg, type ServerMsg, type Vec3, type VoiceMsg } from '../../protocol/messages.ts';
import { PROTOCOL_VERSION, versionMismatch } from '../../protocol/version.ts';
import type { DuplexEngine } from '../engines/contract.ts';
import type { Logger } from '../log.ts';
import type { ParleyMetrics } from '../metrics/parley-metrics.ts';
import type { EchoGateSlots } from '../voice/echo-gate-slots.ts';
import { PlayerEchoGate } from '../voice/echo-gate.ts';
import { normalise } from '../voice/hearing.ts';
import { FrameBudget } from '../voice/frame-budget.ts';
import { PlayerVoiceIntake, takeVoice } from '../voice/intake.ts';
import { RefusalLimiter } from './refusal-limiter.ts';
import type { PlayerState } from './state.ts';

/**
 * Who gets the server's echo gate (server/voice/echo-gate.ts): `auto` (the default), players whose client does not
 * say it cancels its speakers' echo or wears headphones (hello's `echo`); true, every player; false, none.
 */
export type EchoGateMode = boolean | 'auto';

export interface PlayerLinkOptions {
  echoGate?: EchoGateMode;
  /** the process's cap on gates running a canceller at once */
  echoGateSlots?: EchoGateSlots;
  /** where the server believes the player is when it joins (the scene's player start); the first pose is believed when unset */
  start?: Vec3;
  /** fastest a player may move, m/s: a pose further than that is approached at this speed, never jumped to */
  maxSpeed?: number;
  /** whether any NPC can hear a player standing at `p` (voice from nobody's earshot is not decoded) */
  heardAt?: (p: Vec3) => boolean;
  /** called once when the player sends far over its voice budget (the room drops it) */
  onHostile?: (why: string) => void;
}

/** A player's demand is "voiced" while its voice keeps arriving (a real-time stream, silence included). */
const VOICE_FRESH_MS = 1500;

export class PlayerLink {
  /** where the server believes the player is (the claimed pose, reached no faster than `maxSpeed`) */
  position: Vec3 = [0, 0, 0];
  facing: Vec3 = [0, 0, 1];
  /** the last pose the client claimed */
  private claimed: Vec3 | null = null;
  private lastVoiceAt = -Infinity;
  /** over a 1 s window, more than ~11x real time over budget drops the player (a 10x flood is dropped frames) */
  private budget = new FrameBudget({ windowMs: 1000, dropAfter: 140 });
  private hostile = false;
  /** a voice message's budget was taken before its decode (admit); voice() must not take it again */
  private prepaid = false;
  /** frames and bytes dropped before decoding since the last tick: counted here, added to the metrics per tick */
  private droppedFrames = 0;
  private droppedBytes = 0;
  /** set by the room each tick (read by the hearing stage): hello done; voice arriving */
  countsForDemand = false;
  voiced = false;
  /** null until hello */
  intake: PlayerVoiceIntake | null = null;
  /** codec of the NPC voices it receives; null until hello */
  recv: Codec | null = null;
  /** cancels the NPC voices this player's speakers play from its uplink; null until hello, and when not needed */
  echoGate: PlayerEchoGate | null = null;
  /** what the client said it does about echo (hello's `echo`); undefined until hello, or when it did not say */
  echo: EchoHandling | undefined = undefined;
  private refusals = new RefusalLimiter();

  constructor(
    readonly client: Client,
    readonly state: PlayerState,
    private readonly metrics: ParleyMetrics,
    private readonly log: Logger,
    private readonly options: PlayerLinkOptions = {},
  ) {
    if (options.start) this.moveTo([...options.start]);
  }

  /** Whether the server knows where the player is: the scene's start, or its first pose. */
  get placed(): boolean {
    return this.options.start !== undefined || this.claimed !== null;
  }

  /** Whether this player's voice is arriving now (a real-time stream, silence included). */
  voicing(now = Date.now()): boolean {
    return this.intake !== null && now - this.lastVoiceAt <= VOICE_FRESH_MS;
  }

  hello(msg: HelloMsg, engine: DuplexEngine) {
    const mismatch = versionMismatch(msg.v);
    if (mismatch) return this.refuse('protocol-version', mismatch);
    const send = negotiateCodec(msg.send);
    const recv = negotiateCodec(msg.recv);
    if (!send || !recv) return this.refuse('no-codec', `no codec in common: server speaks ${CODECS.join(', ')}`);
    // a hello again on the same codec (the client's echo answer changed) keeps the voice stream where it is
    if (this.intake?.codec !== send) this.intake = new PlayerVoiceIntake(send);
    this.recv = recv;
    this.echo = msg.echo;
    // about 1 ms of CPU per player-frame while NPC voice is sent to the player: only where nothing else cancels
    const mode = this.options.echoGate ?? 'auto';
    const gated = mode === true || (mode === 'auto' && (this.echo === undefined || this.echo === 'none'));
    if (gated) this.echoGate ??= new PlayerEchoGate(undefined, { slots: this.options.echoGateSlots });
    else this.dropEchoGate();
    this.send({ k: Kind.Welcome, v: PROTOCOL_VERSION, send, recv, t: Date.now(), lead: engine.textLeadFrames, engine: engine.label });
  }

  /** The player's gate is no longer wanted (its client cancels now, or the player left): its canceller is freed. */
  dropEchoGate() {
    this.echoGate?.dispose();
    this.echoGate = null;
  }

  /**
   * Called for every message before it is decoded: false means drop it unread. A voice message (told by its
   * first bytes) is judged against the player's budget here, so a frame past real time costs a few byte reads
   * and a counter; nothing from a player being dropped for flooding is read at all.
   */
  admit(raw: Uint8Array, now = Date.now()): boolean {
    if (this.hostile) return false;
    if (this.intake === null || peekKind(raw) !== Kind.Voice) return true;
    if (!this.spend(now)) {
      this.droppedBytes += raw.byteLength;
      return false;
    }
    this.prepaid = true;
    return true;
  }

  voice(msg: VoiceMsg, now = Date.now()) {
    if (!this.intake) return this.refuse('no-hello', 'voice frame before hello');
    if (this.hostile) return;
    // the budget comes before any decoding (admit took it for frames it could tell); a frame it could not tell
    // is judged here, after its decode
    const paid = this.prepaid;
    this.prepaid = false;
    if (!paid && !this.spend(now)) return;
    this.lastVoiceAt = now;
    // nobody can hear it: not decoded (the jitter buffer re-primes when the player walks into earshot)
    if (this.options.heardAt && !this.options.heardAt(this.position)) {
      this.metrics.framesDropped.inc({ stream: 'player_voice', reason: 'unheard' });
      return;
    }
    const refusal = takeVoice(this.intake, msg, this.metrics, this.log);
    if (refusal) this.refuse(refusal.code, refusal.message);
  }

  /** Take one frame from the voice budget; false when over it (counted; far over it drops the player). */
  private spend(now: number): boolean {
    const verdict = this.budget.take(now);
    if (verdict === 'take') return true;
    this.droppedFrames++;
    if (this.budget.over === 1 || this.budget.over % 500 === 0) {
      this.log.warn({ dropped: this.budget.over }, 'player sends voice faster than real time (12.5 frames/s expected); frames dropped before decoding');
    }
    if (verdict === 'drop') {
      this.hostile = true;
      this.countDropped();
      this.metrics.refused.inc({ reason: 'flood' });
      this.log.warn({ dropped: this.budget.over }, 'player dropped: voice far over budget');
      this.options.onHostile?.('voice far over budget');
    }
    return false;
  }

  /** Add the frames dropped over budget since the last call to the metrics (once per tick, not once per frame). */
  countDropped() {
    if (this.droppedFrames > 0) this.metrics.framesDropped.inc({ stream: 'player_voice', reason: 'overflow' }, this.droppedFrames);
    if (this.droppedBytes > 0) this.metrics.bytesReceived.inc({ stream: 'voice' }, this.droppedBytes);
    this.droppedFrames = 0;
    this.droppedBytes = 0;
  }

  pose(msg: PoseMsg) {
    this.facing = normalise(msg.f);
    if (this.claimed === null && !this.options.start) this.moveTo([...msg.p]);
    this.claimed = [...msg.p];
    this.state.fx = this.facing[0];
    this.state.fy = this.facing[1];
    this.state.fz = this.facing[2];
  }

  /** Move the believed position toward the claimed pose, at most `maxSpeed` × `dtMs` (called every tick). */
  advance(dtMs: number) {
    this.countDropped();
    const to = this.claimed;
    if (!to) return;
    const from = this.position;
    const d = Math.hypot(to[0] - from[0], to[1] - from[1], to[2] - from[2]);
    if (d === 0) return;
    const step = ((this.options.maxSpeed ?? 12) * Math.max(0, dtMs)) / 1000;
    if (d <= step) return this.moveTo(to);
    const k = step / d;
    this.moveTo([from[0] + (to[0] - from[0]) * k, from[1] + (to[1] - from[1]) * k, from[2] + (to[2] - from[2]) * k]);
  }

  private moveTo(p: Vec3) {
    this.position = p;
    if (this.state.x !== p[0]) this.state.x = p[0];
    if (this.state.y !== p[1]) this.state.y = p[1];
    if (this.state.z !== p[2]) this.state.z = p[2];
  }

  refuse(code: string, message: string) {
    this.metrics.refused.inc({ reason: code });
    const verdict = this.refusals.admit(Date.now());
    if (verdict.untoldBefore > 0) this.log.warn({ untold: verdict.untoldBefore }, 'more refusals were not logged');
    if (!verdict.tell) return;
    this.log.warn({ code }, `refused: ${message}`);
    this.send({ k: Kind.Refused, code, message });
  }

  private send(msg: ServerMsg) {
    const bytes = encode(msg);
    this.metrics.bytesSent.inc({ stream: 'event' }, bytes.byteLength);
    this.client.sendBytes(PARLEY_CHANNEL, bytes);
  }
}
