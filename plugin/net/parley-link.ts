/**
 * The Parley protocol over a joined Colyseus room: Hello/Welcome, the session state, decoding what the server
 * sends on the 'parley' channel, and sending voice and pose only while the socket is open and welcomed (the
 * Colyseus SDK would otherwise queue bytes while disconnected and flush stale voice on reconnect).
 */
import type { Codec } from '../../protocol/codecs.ts';
import { decodeServer, encode } from '../../protocol/envelope.ts';
import { Kind, PARLEY_CHANNEL, type ServerMsg, type Vec3, type WelcomeMsg } from '../../protocol/messages.ts';
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
}

export interface LinkHandlers {
  onState(state: SessionState, reason?: string): void;
  onMessage(msg: Exclude<ServerMsg, WelcomeMsg>): void;
  onError(err: Error): void;
}

export class ParleyLink {
  private stateNow: SessionState = 'joined';
  private welcomeMsg: WelcomeMsg | null = null;
  private readonly unsubscribe: () => void;
  private disposed = false;
  /** server clock − client clock, ms (rough: ignores the one-way delay of the Welcome) */
  clockOffsetMs = 0;

  private readonly onDrop = (_code: number, reason?: string) => this.setState('reconnecting', reason);
  private readonly onReconnect = () => {
    this.welcomeMsg = null;
    this.setState('joined');
    this.hello(); // the server may have lost our session's codec choice; renegotiate before voice flows again
  };
  private readonly onLeave = (code: number, reason?: string) => {
    this.welcomeMsg = null;
    this.setState('disconnected', reason ?? `left the room (code ${code})`);
  };

  constructor(
    readonly room: RoomLike,
    private readonly codecs: { send: Codec[]; recv: Codec[] },
    private readonly handlers: LinkHandlers,
  ) {
    this.unsubscribe = room.onMessage(PARLEY_CHANNEL, (payload: unknown) => this.receive(payload));
    room.onDrop(this.onDrop);
    room.onReconnect(this.onReconnect);
    room.onLeave(this.onLeave);
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
    this.room.sendBytes(PARLEY_CHANNEL, encode({ k: Kind.Hello, v: PROTOCOL_VERSION, send: this.codecs.send, recv: this.codecs.recv }));
  }

  /** Send one voice frame; false (and nothing queued) when not ready. */
  sendVoice(seq: number, t: number, codec: Codec, data: Uint8Array): boolean {
    if (!this.ready || codec !== this.welcomeMsg?.send) return false;
    this.room.sendBytes(PARLEY_CHANNEL, encode({ k: Kind.Voice, seq, t, codec, data }));
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
    this.unsubscribe();
    this.room.onDrop.remove(this.onDrop);
    this.room.onReconnect.remove(this.onReconnect);
    this.room.onLeave.remove(this.onLeave);
    this.setState('disconnected', 'disposed');
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
