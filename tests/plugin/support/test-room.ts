/**
 * A minimal Colyseus room that speaks the Parley protocol, standing in for the real room (server/room) so the
 * plugin's browser test does not depend on it: it refuses another protocol major at join, answers Hello with
 * Welcome, records every voice and pose message with its arrival time, and sends NPC voice frames, text and
 * events on command.
 */
import { Room, Server, type Client } from '@colyseus/core';
import { WebSocketTransport } from '@colyseus/ws-transport';
import { createEncoder } from '../../../server/codec/index.ts';
import { negotiateCodec, type Codec } from '../../../protocol/codecs.ts';
import { decodeClient, encode } from '../../../protocol/envelope.ts';
import { Kind, PARLEY_CHANNEL, type HelloMsg, type NpcEvent, type PoseMsg, type ServerMsg, type VoiceMsg } from '../../../protocol/messages.ts';
import { versionMismatch } from '../../../protocol/version.ts';
import { sleep } from '../../support/time.ts';

export interface RecordedVoice extends VoiceMsg {
  arrival: number;
}

export interface RoomRecord {
  hellos: HelloMsg[];
  voice: RecordedVoice[];
  poses: Array<PoseMsg & { arrival: number }>;
  errors: string[];
  recvCodec: Codec | null;
}

export class ParleyTestRoom extends Room {
  /** the room the latest player joined */
  static current: ParleyTestRoom | null = null;
  /** what the room had recorded when the latest player joined, so a test can look at that session only */
  static joinedAt = { hellos: 0, voice: 0 };
  readonly record: RoomRecord = { hellos: [], voice: [], poses: [], errors: [], recvCodec: null };
  private player: Client | null = null;

  override onCreate(): void {
    ParleyTestRoom.current = this;
    this.onMessageBytes(PARLEY_CHANNEL, (client: Client, bytes: Uint8Array) => {
      try {
        const msg = decodeClient(new Uint8Array(bytes));
        if (msg.k === Kind.Hello) {
          this.record.hellos.push(msg);
          const send = negotiateCodec(msg.send);
          const recv = negotiateCodec(msg.recv);
          this.record.recvCodec = recv;
          if (!send || !recv) return this.sendTo(client, { k: Kind.Refused, code: 'codec', message: 'no common codec' });
          this.sendTo(client, { k: Kind.Welcome, v: '1.0', send, recv, lead: 2, engine: 'plugin-test-room', t: Date.now() });
        } else if (msg.k === Kind.Voice) {
          this.record.voice.push({ ...msg, arrival: Date.now() });
        } else if (msg.k === Kind.Pose) {
          this.record.poses.push({ ...msg, arrival: Date.now() });
        }
      } catch (err) {
        this.record.errors.push((err as Error).message);
      }
    });
  }

  override onJoin(client: Client, options: { protocol?: unknown }): void {
    const mismatch = versionMismatch(options?.protocol);
    if (mismatch) throw new Error(mismatch);
    this.player = client;
    ParleyTestRoom.current = this;
    ParleyTestRoom.joinedAt = { hellos: this.record.hellos.length, voice: this.record.voice.length };
  }

  sendTo(client: Client | null, msg: ServerMsg): void {
    client?.sendBytes(PARLEY_CHANNEL, encode(msg));
  }

  /** Stream `count` frames of a tone as NPC `npc`, one per 80 ms (or all at once with burst), from frame index `from`. */
  async speak(npc: string, from: number, count: number, options: { burst?: boolean; text?: boolean } = {}): Promise<void> {
    const codec = this.record.recvCodec ?? 'pcm16';
    const enc = createEncoder(codec);
    for (let k = 0; k < count; k++) {
      const i = from + k;
      const frame = new Float32Array(1920);
      for (let n = 0; n < 1920; n++) frame[n] = 0.3 * Math.sin((2 * Math.PI * 440 * (i * 1920 + n)) / 24_000);
      this.sendTo(this.player, {
        k: Kind.NpcVoice,
        npc,
        i,
        t: Date.now(),
        codec,
        data: enc.encode(frame),
        ...(k === 0 ? { vis: { from: i * 1920, keys: [{ at: i * 1920 + 100, v: 10 }] } } : {}),
      });
      if (options.text && k % 4 === 0) this.sendTo(this.player, { k: Kind.Text, npc, i, piece: '▁word' });
      if (!options.burst) await sleep(80);
    }
  }

  event(npc: string, e: NpcEvent): void {
    this.sendTo(this.player, { k: Kind.NpcEvent, npc, ...e });
  }
}

export async function startTestServer(port: number): Promise<Server> {
  const server = new Server({ transport: new WebSocketTransport({ maxPayload: 64 * 1024 }) });
  server.define('parley', ParleyTestRoom);
  await server.listen(port);
  return server;
}
