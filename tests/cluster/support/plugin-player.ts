/**
 * A player through the plugin's own connection module (plugin/net/parley-link.ts, as ParleySession drives it,
 * without Babylon or Web Audio): it adopts a joined room, and when that room's process drains or dies the link
 * re-joins the room by name through `join` (standing in for the load balancer in front of the processes).
 * Records the NPC voice it receives, decoded, and streams a voice source while the link is ready.
 */
import type { Room } from '@colyseus/sdk';
import { Kind, type Vec3 } from '../../../protocol/messages.ts';
import { createDecoder, createEncoder, type FrameDecoder } from '../../../server/codec/index.ts';
import { ParleyLink, type RoomLike } from '../../../plugin/net/parley-link.ts';
import type { SessionState } from '../../../plugin/types.ts';
import { sleep } from '../../support/time.ts';

export class PluginPlayer {
  readonly link: ParleyLink;
  readonly states: Array<{ state: SessionState; reason?: string; at: number }> = [];
  readonly frames: Array<{ npc: string; i: number; samples: Float32Array; at: number }> = [];
  private readonly encoder = createEncoder('pcm16');
  private readonly decoders = new Map<string, FrameDecoder>();
  private timer: NodeJS.Timeout | null = null;
  private seq = 0;

  constructor(room: Room, join: () => Promise<Room>, private readonly where: { p: Vec3; f: Vec3 }) {
    this.link = new ParleyLink(
      room as unknown as RoomLike,
      { send: ['pcm16'], recv: ['pcm16'] },
      {
        onState: (state, reason) => {
          this.states.push({ state, reason, at: Date.now() });
          if (state === 'ready') this.link.sendPose(this.where.p, this.where.f);
        },
        onMessage: (msg) => {
          if (msg.k !== Kind.NpcVoice) return;
          let dec = this.decoders.get(msg.npc);
          if (!dec) this.decoders.set(msg.npc, (dec = createDecoder(msg.codec)));
          this.frames.push({ npc: msg.npc, i: msg.i, samples: dec.decode(msg.data), at: Date.now() });
        },
        onError: () => {},
      },
      { join: async () => (await join()) as unknown as RoomLike },
    );
    this.link.hello();
  }

  /** Send `source(n)` every 80 ms while the link is ready (the link drops frames otherwise, as the plugin does). */
  streamVoice(source: (n: number) => Float32Array): void {
    let n = 0;
    this.timer = setInterval(() => {
      const frame = source(n++);
      this.link.sendVoice(this.seq++, Date.now(), 'pcm16', this.encoder.encode(frame));
    }, 80);
  }

  framesFrom(npc: string) {
    return this.frames.filter((f) => f.npc === npc);
  }

  async leave(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const room = this.link.room;
    this.link.dispose();
    await Promise.race([room.leave(true).catch(() => undefined), sleep(1000)]);
  }
}
