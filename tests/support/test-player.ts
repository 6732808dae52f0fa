/**
 * A scripted player: a real @colyseus/sdk client that speaks the Parley protocol, sends voice frames on a
 * timer and records everything the server sends it (NPC audio decoded to samples, text, events, refusals).
 */
import { Callbacks, Client, type Room } from '@colyseus/sdk';
import { FRAME_SAMPLES } from '../../protocol/frame.ts';
import { encode, decodeServer } from '../../protocol/envelope.ts';
import { Kind, PARLEY_CHANNEL, type ClientMsg, type EchoHandling, type HeardMsg, type NpcEventMsg, type ServerMsg, type Vec3, type WelcomeMsg } from '../../protocol/messages.ts';
import { PROTOCOL_VERSION } from '../../protocol/version.ts';
import type { Codec } from '../../protocol/codecs.ts';
import { sleep } from './time.ts';
import { createDecoder, createEncoder, type FrameDecoder, type FrameEncoder } from '../../server/codec/index.ts';

export interface ReceivedFrame {
  npc: string;
  i: number;
  samples: Float32Array;
  bytes: number;
  at: number;
}

/** One NPC's synced status as this player's state saw it change (one entry per state patch that changed it). */
export interface SeenStatus {
  npc: string;
  status: string;
  progress: number;
  detail: string;
}

export class TestPlayer {
  room!: Room;
  welcome: WelcomeMsg | null = null;
  frames: ReceivedFrame[] = [];
  texts: { npc: string; i: number; piece: string }[] = [];
  /** with `at`: when it arrived (Date.now()), like `frames` */
  events: (NpcEventMsg & { at: number })[] = [];
  refused: { code: string; message: string }[] = [];
  /** what the server said this player heard of each NPC utterance (docs/scenes.md) */
  heard: HeardMsg[] = [];
  /** every change of an NPC's status, progress or detail in the synced room state (the one status channel) */
  statuses: SeenStatus[] = [];
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private encoder: FrameEncoder | null = null;
  private decoders = new Map<string, FrameDecoder>();

  constructor(
    readonly url: string,
    readonly codec: Codec = 'pcm16',
  ) {}

  async join(roomName: string, options: Record<string, unknown> = {}) {
    const client = new Client(this.url);
    this.room = await client.joinOrCreate(roomName, { protocol: PROTOCOL_VERSION, ...options });
    this.room.onMessage(PARLEY_CHANNEL, (bytes: Uint8Array) => this.onServer(decodeServer(bytes)));
    this.watchStatuses();
    return this;
  }

  private watchStatuses() {
    const $ = Callbacks.get(this.room);
    $.onAdd('npcs', (value: unknown, key: unknown) => {
      const npc = value as { status: string; progress: number; detail: string };
      const id = String(key);
      const record = () => {
        const last = this.statuses.filter((s) => s.npc === id).at(-1);
        if (last && last.status === npc.status && last.progress === npc.progress && last.detail === npc.detail) return;
        this.statuses.push({ npc: id, status: npc.status, progress: npc.progress, detail: npc.detail });
      };
      record();
      $.onChange(npc, record);
    });
  }

  /** The statuses this player saw for one NPC, in order. */
  statusesOf(npc: string) {
    return this.statuses.filter((s) => s.npc === npc);
  }

  private onServer(msg: ServerMsg) {
    switch (msg.k) {
      case Kind.Welcome:
        this.welcome = msg;
        return;
      case Kind.NpcVoice: {
        let dec = this.decoders.get(msg.npc);
        if (!dec) this.decoders.set(msg.npc, (dec = createDecoder(msg.codec)));
        this.frames.push({ npc: msg.npc, i: msg.i, samples: dec.decode(msg.data), bytes: msg.data.byteLength, at: Date.now() });
        return;
      }
      case Kind.Text:
        this.texts.push({ npc: msg.npc, i: msg.i, piece: msg.piece });
        return;
      case Kind.NpcEvent:
        this.events.push({ ...msg, at: Date.now() });
        return;
      case Kind.Refused:
        this.refused.push({ code: msg.code, message: msg.message });
        return;
      case Kind.Heard:
        this.heard.push(msg);
        return;
    }
  }

  /**
   * Hello as a client that hears the NPCs in headphones by default (what it sends is only the voice it is given,
   * no echo), so the server's automatic echo gate leaves it alone; `echo: null` says nothing, as an older client.
   */
  async hello(codec: Codec = this.codec, echo: EchoHandling | null = 'headphones') {
    this.send({ k: Kind.Hello, v: PROTOCOL_VERSION, send: [codec], recv: [codec], ...(echo ? { echo } : {}) });
    this.encoder = createEncoder(codec);
    await waitFor(() => this.welcome !== null, 3000, 'welcome');
    return this;
  }

  send(msg: ClientMsg) {
    this.room.sendBytes(PARLEY_CHANNEL, encode(msg));
  }

  sendRaw(bytes: Uint8Array) {
    this.room.sendBytes(PARLEY_CHANNEL, bytes);
  }

  pose(p: Vec3, f: Vec3) {
    this.send({ k: Kind.Pose, p, f });
  }

  voiceFrame(samples: Float32Array) {
    if (!this.encoder) throw new Error('hello first');
    this.send({ k: Kind.Voice, seq: this.seq++, t: Date.now(), codec: this.codec, data: this.encoder.encode(samples) });
  }

  /** Stream frames from `source(n)` in real time (every 80 ms) until stopped. */
  streamVoice(source: (n: number) => Float32Array, periodMs = 80) {
    this.stopVoice();
    let n = 0;
    this.timer = setInterval(() => this.voiceFrame(source(n++)), periodMs);
  }

  stopVoice() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  framesFrom(npc: string) {
    return this.frames.filter((f) => f.npc === npc);
  }

  private left = false;

  async leave() {
    this.stopVoice();
    if (this.left || !this.room) return;
    this.left = true;
    await Promise.race([this.room.leave().catch(() => undefined), sleep(1000)]);
  }
}

export async function waitFor(cond: () => boolean, timeoutMs: number, what: string) {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export { sleep };

export function tone(freq: number, amp: number) {
  let phase = 0;
  return () => {
    const out = new Float32Array(FRAME_SAMPLES);
    for (let i = 0; i < FRAME_SAMPLES; i++) {
      out[i] = amp * Math.sin(phase);
      phase += (2 * Math.PI * freq) / 24000;
    }
    return out;
  };
}

export { rms as frameRms } from './audio.ts';
