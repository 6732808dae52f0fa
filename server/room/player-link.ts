/**
 * One player's link, as the room sees it: pose, the handshake (protocol version, a codec each way), the voice
 * intake it opens, and refusals (counted, told to the player and logged within a rate limit). What the hearing
 * stage and voice out read of a player lives here.
 */
import type { Client } from '@colyseus/core';
import { CODECS, negotiateCodec, type Codec } from '../../protocol/codecs.ts';
import { encode } from '../../protocol/envelope.ts';
import { Kind, PARLEY_CHANNEL, type HelloMsg, type PoseMsg, type ServerMsg, type Vec3, type VoiceMsg } from '../../protocol/messages.ts';
import { PROTOCOL_VERSION, versionMismatch } from '../../protocol/version.ts';
import type { DuplexEngine } from '../engines/contract.ts';
import type { Logger } from '../log.ts';
import type { ParleyMetrics } from '../metrics/parley-metrics.ts';
import { PlayerEchoGate } from '../voice/echo-gate.ts';
import { normalise } from '../voice/hearing.ts';
import { PlayerVoiceIntake, takeVoice } from '../voice/intake.ts';
import { RefusalLimiter } from './refusal-limiter.ts';
import type { PlayerState } from './state.ts';

export class PlayerLink {
  position: Vec3 = [0, 0, 0];
  facing: Vec3 = [0, 0, 1];
  /** null until hello */
  intake: PlayerVoiceIntake | null = null;
  /** codec of the NPC voices it receives; null until hello */
  recv: Codec | null = null;
  /** cancels the NPC voices this player's speakers play from its uplink; null until hello */
  echoGate: PlayerEchoGate | null = null;
  private refusals = new RefusalLimiter();

  constructor(
    readonly client: Client,
    readonly state: PlayerState,
    private readonly metrics: ParleyMetrics,
    private readonly log: Logger,
    private readonly options: { echoGate?: boolean } = {},
  ) {}

  hello(msg: HelloMsg, engine: DuplexEngine) {
    const mismatch = versionMismatch(msg.v);
    if (mismatch) return this.refuse('protocol-version', mismatch);
    const send = negotiateCodec(msg.send);
    const recv = negotiateCodec(msg.recv);
    if (!send || !recv) return this.refuse('no-codec', `no codec in common: server speaks ${CODECS.join(', ')}`);
    this.intake = new PlayerVoiceIntake(send);
    this.recv = recv;
    if (this.options.echoGate !== false) this.echoGate ??= new PlayerEchoGate();
    this.send({ k: Kind.Welcome, v: PROTOCOL_VERSION, send, recv, t: Date.now(), lead: engine.textLeadFrames, engine: engine.label });
  }

  voice(msg: VoiceMsg) {
    if (!this.intake) return this.refuse('no-hello', 'voice frame before hello');
    const refusal = takeVoice(this.intake, msg, this.metrics, this.log);
    if (refusal) this.refuse(refusal.code, refusal.message);
  }

  pose(msg: PoseMsg) {
    this.position = msg.p;
    this.facing = normalise(msg.f);
    Object.assign(this.state, { x: msg.p[0], y: msg.p[1], z: msg.p[2], fx: this.facing[0], fy: this.facing[1], fz: this.facing[2] });
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
