/**
 * Voice out, once per NPC output frame: find the players in the NPC's earshot (audible radius, handshake done),
 * send the speech events first, then the voice encoded once per codec those players receive (with the lip-sync
 * track), then the text piece, and count the bytes. An 'interrupted' or 'paused' cuts the lip-sync timeline even
 * when nobody is in earshot, so the next listener never sees a stale mouth.
 */
import type { Codec } from '../../protocol/codecs.ts';
import { encode } from '../../protocol/envelope.ts';
import { Kind, PARLEY_CHANNEL, type NpcEvent, type Vec3 } from '../../protocol/messages.ts';
import { createEncoder } from '../codec/index.ts';
import type { StepOutput } from '../engines/contract.ts';
import type { ParleyMetrics } from '../metrics/parley-metrics.ts';
import type { NpcStream } from '../sessions/npc-stream.ts';
import { distance } from './hearing.ts';

/** What voice out needs of a player. */
export interface VoiceListener {
  position: Vec3;
  /** codec of the NPC voices it receives; null until its hello */
  recv: Codec | null;
  client: { sendBytes(channel: string, bytes: Uint8Array): void };
  /** told what NPC voice this player's speakers will play, at the gain they play it (server/voice/echo-gate.ts) */
  echoGate?: { sent(frame: Float32Array, gain: number): void } | null;
}

export class VoiceOut {
  constructor(
    private readonly metrics: ParleyMetrics,
    private readonly now: () => number = Date.now,
  ) {}

  /** Returns the players it went to. */
  deliver<L extends VoiceListener>(npc: NpcStream, frameIndex: number, out: StepOutput, events: readonly NpcEvent[], players: Iterable<L>): L[] {
    // a pause silences the word being said as a cut does (the plugin drops its buffered keys then); a resumed word
    // is said again without its piece, so its mouth follows the voice's level (docs/lipsync.md)
    for (const ev of events) if (ev.e === 'interrupted' || ev.e === 'paused') npc.visemes?.interrupt(frameIndex);
    const vis = npc.visemes?.onFrame(frameIndex, out.text);
    const listeners: L[] = [];
    for (const p of players) if (p.recv !== null && distance(p.position, npc.position) <= npc.def.audibleRadius) listeners.push(p);
    if (listeners.length === 0) return listeners;
    // the plugin attenuates by inverse distance beyond 1 m; the echo gate's reference follows it
    for (const p of listeners) p.echoGate?.sent(out.output, 1 / Math.max(1, distance(p.position, npc.position)));
    const m = this.metrics;
    // Events first: an 'interrupted' must reach the client before the frames after it.
    for (const ev of events) this.send(listeners, encode({ k: Kind.NpcEvent, npc: npc.id, ...ev }), 'event');
    const t = this.now();
    for (const codec of new Set(listeners.map((p) => p.recv!))) {
      const encoder = (npc.encoders[codec] ??= createEncoder(codec));
      const bytes = encode({ k: Kind.NpcVoice, npc: npc.id, i: frameIndex, t, codec, data: encoder.encode(out.output), ...(vis ? { vis } : {}) });
      for (const p of listeners) {
        if (p.recv !== codec) continue;
        p.client.sendBytes(PARLEY_CHANNEL, bytes);
        m.bytesSent.inc({ stream: 'npc_voice', codec }, bytes.byteLength);
      }
    }
    if (out.text !== undefined) this.send(listeners, encode({ k: Kind.Text, npc: npc.id, i: frameIndex, piece: out.text }), 'text');
    return listeners;
  }

  private send(to: readonly VoiceListener[], bytes: Uint8Array, stream: string) {
    for (const p of to) {
      p.client.sendBytes(PARLEY_CHANNEL, bytes);
      this.metrics.bytesSent.inc({ stream }, bytes.byteLength);
    }
  }
}
