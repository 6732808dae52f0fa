/**
 * The Parley protocol over a joined Colyseus room: Hello/Welcome, the session state, decoding what the server
 * sends on the 'parley' channel, and sending voice and pose only while the socket is open and welcomed (the
 * Colyseus SDK would otherwise queue bytes while disconnected and flush stale voice on reconnect).
 *
 * With a `rejoin` function the link also moves to a new room by itself when the old one's process is gone: on
 * close code 4001 (the server drains) or when the SDK's reconnection has not succeeded within `afterMs` (a killed
 * process: the SDK would retry the dead room for about a minute), it leaves the old room, joins the room again by
 * name (through any process, docs/scaling.md) and says hello there. State meanwhile: 'rejoining'.
 */
import type { Codec } from '../../protocol/codecs.ts';
import { decodeServer, encode } from '../../protocol/envelope.ts';
import { Kind, PARLEY_CHANNEL, type EchoHandling, type ServerMsg, type Vec3, type WelcomeMsg } from '../../protocol/messages.ts';
import { PROTOCOL_VERSION } from '../../protocol/version.ts';
import type { SessionState } from '../types.ts';

interface Signal<F> {
  (cb: F): unknown;
  remove(cb: F): void;
}

/** The part of a Colyseus `Room` (from @colyseus/sdk) the plugin uses. */
export interface RoomLike {
  readonly connection: { readonly isOpen: boolean };
  sendBytes(type: string, bytes: Uint8Array): void;
  onMessage(type: string, cb: (payload: any) => void): () => void;
  readonly onLeave: Signal<(code: number, reason?: string) => void>;
  readonly onDrop: Signal<(code: number, reason?: string) => void>;
  readonly onReconnect: Signal<() => void>;
  leave(consented?: boolean): Promise<unknown>;
  readonly state?: unknown;
  /** the SDK's reconnection settings (turned off for a room the link gives up on) */
  reconnection?: { enabled: boolean };
}

export interface LinkHandlers {
  onState(state: SessionState, reason?: string): void;
  onMessage(msg: Exclude<ServerMsg, WelcomeMsg>): void;
  onError(err: Error): void;
}

/** Close code of a draining server: the player should re-join the room by name elsewhere. */
export const DRAIN_CLOSE_CODE = 4001;

export interface RejoinOptions {
  /** Join the same room again by name (joinOrCreate with the same name and options). */
  join(): Promise<RoomLike>;
  /** how long the SDK may try to reconnect to the old room before the link re-joins by name (default 2000 ms) */
  afterMs?: number;
  /** pause between failed join attempts (default 500 ms) */
  retryMs?: number;
  /** give up (state 'disconnected') after this many failed joins in a row (default 60, about 30 s) */
  attempts?: number;
  /** timers (tests pass a fake clock) */
  timers?: { setTimeout(fn: () => void, ms: number): unknown; clear(id: unknown): void };
}

const realTimers = {
  setTimeout: (fn: () => void, ms: number): unknown => setTimeout(fn, ms),
  clear: (id: unknown) => clearTimeout(id as ReturnType<typeof setTimeout>),
};

export class ParleyLink {
  private stateNow: SessionState = 'joined';
  private welcomeMsg: WelcomeMsg | null = null;
  private echoNow: EchoHandling | undefined;
  /** hello was sent in the room we are in now (a changed echo answer is then told again) */
  private saidHello = false;
  private roomNow: RoomLike;
  private unsubscribe: () => void = () => {};
  private disposed = false;
  private rejoinTimer: unknown = null;
  private rejoining = false;
  /** server clock − client clock, ms (rough: ignores the one-way delay of the Welcome) */
  clockOffsetMs = 0;

  private readonly onDrop = (_code: number, reason?: string) => {
    this.setState('reconnecting', reason);
    if (this.rejoin && !this.rejoinTimer) {
      const after = this.rejoin.afterMs ?? 2000;
      this.rejoinTimer = this.timers.setTimeout(() => {
        this.rejoinTimer = null;
        void this.rejoinByName(`no reconnection within ${after} ms`);
      }, after);
    }
  };
  private readonly onReconnect = () => {
    this.clearRejoinTimer();
    this.welcomeMsg = null;
    this.setState('joined');
    this.hello(); // the server may have lost our session's codec choice; renegotiate before voice flows again
  };
  private readonly onLeave = (code: number, reason?: string) => {
    this.clearRejoinTimer();
    this.welcomeMsg = null;
    // A draining server, or the SDK giving up on a dropped room: continue in the same room by name elsewhere.
    if (this.rejoin && (code === DRAIN_CLOSE_CODE || this.stateNow === 'reconnecting')) {
      void this.rejoinByName(reason ?? `left the room (code ${code})`);
      return;
    }
    this.setState('disconnected', reason ?? `left the room (code ${code})`);
  };

  constructor(
    room: RoomLike,
    private readonly codecs: { send: Codec[]; recv: Codec[] },
    private readonly handlers: LinkHandlers,
    private readonly rejoin?: RejoinOptions,
  ) {
    this.roomNow = room;
    this.attach(room);
  }

  private get timers() {
    return this.rejoin?.timers ?? realTimers;
  }

  /** The room the session is in now (a re-join replaces it). */
  get room(): RoomLike {
    return this.roomNow;
  }

  get state(): SessionState {
    return this.stateNow;
  }

  get welcome(): WelcomeMsg | null {
    return this.welcomeMsg;
  }

  /** Voice may flow: welcomed, and the socket is open right now. */
  get ready(): boolean {
    return this.stateNow === 'ready' && this.room.connection.isOpen;
  }

  hello(): void {
    if (this.disposed || !this.room.connection.isOpen) return;
    const echo = this.echoNow ? { echo: this.echoNow } : {};
    this.saidHello = true;
    this.room.sendBytes(PARLEY_CHANNEL, encode({ k: Kind.Hello, v: PROTOCOL_VERSION, send: this.codecs.send, recv: this.codecs.recv, ...echo }));
  }

  /** What this client does about echo, told in every hello (the server gates the uplink of a client that does not cancel). */
  get echo(): EchoHandling | undefined {
    return this.echoNow;
  }

  /** A changed answer (the canceller failed) is told at once: the server takes a repeated hello as an update. */
  setEcho(echo: EchoHandling): void {
    if (echo === this.echoNow) return;
    this.echoNow = echo;
    if (this.saidHello) this.hello();
  }

  /** Send one voice frame; false (and nothing queued) when not ready. */
  sendVoice(seq: number, t: number, codec: Codec, data: Uint8Array): boolean {
    if (!this.ready || codec !== this.welcomeMsg?.send) return false;
    this.room.sendBytes(PARLEY_CHANNEL, encode({ k: Kind.Voice, seq, t, codec, data }));
    return true;
  }

  /** How far this player's speakers have played an NPC's voice (through frame `i`). */
  sendPlayed(npc: string, i: number): boolean {
    if (!this.ready || !this.room.connection.isOpen) return false;
    this.room.sendBytes(PARLEY_CHANNEL, encode({ k: Kind.Played, npc, i }));
    return true;
  }

  sendPose(p: Vec3, f: Vec3): boolean {
    if (this.disposed || (this.stateNow !== 'ready' && this.stateNow !== 'joined') || !this.room.connection.isOpen) return false;
    this.room.sendBytes(PARLEY_CHANNEL, encode({ k: Kind.Pose, p, f }));
    return true;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.clearRejoinTimer();
    this.detach(this.roomNow);
    this.setState('disconnected', 'disposed');
  }

  private attach(room: RoomLike): void {
    this.unsubscribe = room.onMessage(PARLEY_CHANNEL, (payload: unknown) => this.receive(payload));
    room.onDrop(this.onDrop);
    room.onReconnect(this.onReconnect);
    room.onLeave(this.onLeave);
  }

  private detach(room: RoomLike): void {
    this.unsubscribe();
    this.unsubscribe = () => {};
    room.onDrop.remove(this.onDrop);
    room.onReconnect.remove(this.onReconnect);
    room.onLeave.remove(this.onLeave);
  }

  private clearRejoinTimer(): void {
    if (this.rejoinTimer !== null) this.timers.clear(this.rejoinTimer);
    this.rejoinTimer = null;
  }

  /** Leave the old room (its process is gone or going), join the room by name again, and say hello there. */
  private async rejoinByName(reason: string): Promise<void> {
    if (!this.rejoin || this.rejoining || this.disposed) return;
    this.rejoining = true;
    this.clearRejoinTimer();
    const old = this.roomNow;
    this.detach(old);
    this.welcomeMsg = null;
    this.saidHello = false;
    this.setState('rejoining', reason);
    // stop the SDK's own retries of the dead room (one already scheduled still runs, then the SDK gives up);
    // its leave may throw or never settle on a dead socket
    if (old.reconnection) old.reconnection.enabled = false;
    void Promise.resolve()
      .then(() => old.leave(true))
      .catch(() => {});
    const attempts = this.rejoin.attempts ?? 60;
    let lastErr: Error | null = null;
    for (let n = 0; n < attempts && !this.disposed; n++) {
      let room: RoomLike;
      try {
        room = await this.rejoin.join();
      } catch (err) {
        lastErr = err as Error;
        this.handlers.onError(new Error(`Parley: re-joining the room failed: ${lastErr.message}`));
        if (n + 1 < attempts) await new Promise<void>((r) => this.timers.setTimeout(r, this.rejoin!.retryMs ?? 500));
        continue;
      }
      if (this.disposed) {
        void Promise.resolve()
          .then(() => room.leave(true))
          .catch(() => {});
        return;
      }
      this.rejoining = false;
      this.roomNow = room;
      this.attach(room);
      this.setState('joined');
      this.hello();
      return;
    }
    this.rejoining = false;
    if (!this.disposed) this.setState('disconnected', `could not re-join the room${lastErr ? `: ${lastErr.message}` : ''}`);
  }

  private receive(payload: unknown): void {
    if (this.disposed) return;
    const bytes =
      payload instanceof Uint8Array ? payload : payload instanceof ArrayBuffer ? new Uint8Array(payload) : null;
    if (!bytes) {
      this.handlers.onError(new Error('Parley: a non-binary message arrived on the parley channel'));
      return;
    }
    let msg: ServerMsg;
    try {
      msg = decodeServer(bytes);
    } catch (err) {
      this.handlers.onError(err as Error);
      return;
    }
    if (msg.k === Kind.Welcome) {
      if (!this.codecs.send.includes(msg.send) || !this.codecs.recv.includes(msg.recv)) {
        this.handlers.onError(new Error(`Parley: the server chose codecs we did not offer (send ${msg.send}, recv ${msg.recv})`));
        this.setState('refused', 'no common codec');
        return;
      }
      this.welcomeMsg = msg;
      this.clockOffsetMs = msg.t - Date.now();
      this.setState('ready');
      return;
    }
    this.handlers.onMessage(msg);
  }

  private setState(state: SessionState, reason?: string): void {
    if (this.stateNow === state) return;
    this.stateNow = state;
    this.handlers.onState(state, reason);
  }
}
