/**
 * `parley.mic`: the player's microphone in a session. Captures 80 ms frames, encodes them with the codec the
 * server chose, and sends them only while the session is welcomed, the socket is open, and the player talks
 * (open mic, or push-to-talk held) unmuted. Settings are plain properties, as in Babylon.
 */
import { Observable } from '@babylonjs/core/Misc/observable.js';
import type { Codec } from '../../protocol/codecs.ts';
import { MicCapture, type MicEchoSetup, type MicFrame, type MicOptions } from '../audio/mic-capture.ts';
import { OpusEncoder, Pcm16Encoder, type EncodedVoice, type VoiceEncoder } from '../audio/voice-encoder.ts';
import { toDbfs } from '../dsp/pcm16.ts';
import type { ParleyLink } from '../net/parley-link.ts';
import type { MicLevelEvent } from '../types.ts';

export type MicMode = 'open-mic' | 'push-to-talk';
const MODES: readonly MicMode[] = ['open-mic', 'push-to-talk'];

export interface ParleyMicSettings {
  mode?: MicMode;
  muted?: boolean;
  pushToTalkKey?: string;
}

export interface MicEchoStatus {
  on: boolean;
  erleDb: number;
  delayMs: number;
  costMs: number;
}

export class ParleyMic {
  /** every 80 ms while the mic runs: the frame's level and whether it was sent */
  readonly onLevelObservable = new Observable<MicLevelEvent>();

  private modeNow: MicMode = 'open-mic';
  private mutedNow = false;
  private talkingNow = false;
  private keyNow: string | null = null;
  private removeKey: (() => void) | null = null;
  private capture: MicCapture | null = null;
  private encoder: VoiceEncoder | null = null;
  private sent = 0;
  private disposed = false;
  private echoNow: MicEchoStatus = { on: false, erleDb: NaN, delayMs: NaN, costMs: NaN };

  /** @internal created by the session */
  constructor(
    private readonly link: () => ParleyLink | null,
    private readonly onError: (err: Error) => void,
    settings: ParleyMicSettings = {},
  ) {
    this.mode = settings.mode ?? 'open-mic';
    this.muted = settings.muted ?? false;
    this.pushToTalkKey = settings.pushToTalkKey ?? null;
  }

  /** 'open-mic' (default: the mic sends whenever it is unmuted) or 'push-to-talk' (only while `talking`). */
  get mode(): MicMode {
    return this.modeNow;
  }

  set mode(value: MicMode) {
    if (!MODES.includes(value)) throw new Error(`Parley: mic.mode must be 'open-mic' or 'push-to-talk' (got ${String(value)})`);
    this.modeNow = value;
  }

  /** Nothing is sent while muted (the level is still reported). Default false. */
  get muted(): boolean {
    return this.mutedNow;
  }

  set muted(value: boolean) {
    this.mutedNow = value === true;
  }

  /** Push-to-talk: whether the talk key is held. Set it yourself, or give `pushToTalkKey`. */
  get talking(): boolean {
    return this.talkingNow;
  }

  set talking(value: boolean) {
    this.talkingNow = value === true;
  }

  /**
   * A `KeyboardEvent.code` (e.g. 'KeyV') that sets `talking` while held; null for none (default). Releasing
   * the window (blur) stops talking.
   */
  get pushToTalkKey(): string | null {
    return this.keyNow;
  }

  set pushToTalkKey(code: string | null) {
    if (code !== null && (typeof code !== 'string' || code === '')) throw new Error('Parley: mic.pushToTalkKey must be a KeyboardEvent.code or null');
    this.removeKey?.();
    this.removeKey = null;
    this.keyNow = code;
    if (code === null || typeof window === 'undefined') return;
    const down = (e: KeyboardEvent) => {
      if (e.code === code && !e.repeat) this.talkingNow = true;
    };
    const up = (e: KeyboardEvent) => {
      if (e.code === code) this.talkingNow = false;
    };
    const blur = () => (this.talkingNow = false);
    window.addEventListener('keydown', down);
    window.addEventListener('keyup', up);
    window.addEventListener('blur', blur);
    this.removeKey = () => {
      window.removeEventListener('keydown', down);
      window.removeEventListener('keyup', up);
      window.removeEventListener('blur', blur);
    };
  }

  /**
   * Echo cancellation of what the speakers play (on by default unless the player said they wear headphones):
   * whether it runs, its current echo return loss enhancement (dB, over the last ~0.4 s of NPC voice; NaN before
   * any), the estimated speaker-to-mic delay, and its audio-thread cost for the last 80 ms frame.
   */
  get echo(): Readonly<MicEchoStatus> {
    return this.echoNow;
  }

  /** Whether the microphone is captured (false when the session listens only). */
  get running(): boolean {
    return this.capture !== null;
  }

  /** Frames sent since connect (diagnostics). */
  get sentFrames(): number {
    return this.sent;
  }

  /** Whether a frame captured now would be sent. */
  get sending(): boolean {
    const link = this.link();
    return !this.mutedNow && (this.modeNow === 'open-mic' || this.talkingNow) && (link?.ready ?? false) && this.encoder !== null;
  }

  /** @internal told when echo cancellation stops for good (the session tells the server) */
  _onEchoOff: (() => void) | undefined;

  /** @internal start capturing (after the Welcome) */
  async _start(ctx: AudioContext, options: MicOptions, echo?: Omit<MicEchoSetup, 'onError'>): Promise<void> {
    const onError = (err: Error) => {
      this.echoNow = { ...this.echoNow, on: false };
      this.onError(err);
      this._onEchoOff?.();
    };
    const capture = await MicCapture.start(ctx, (f) => this.onFrame(f), options, echo ? { ...echo, onError } : undefined);
    if (echo) this.echoNow = { ...this.echoNow, on: true };
    if (this.disposed) capture.stop();
    else this.capture = capture;
  }

  /** @internal the Welcome named the codec the server expects from this player */
  _useCodec(codec: Codec | undefined): void {
    if (!codec || this.encoder?.codec === codec) return;
    this.encoder?.close();
    const out = (v: EncodedVoice) => {
      // Encoded output is asynchronous: check again that the link is up, and never queue.
      if (this.link()?.sendVoice(v.seq, v.t, v.codec, v.data)) this.sent++;
    };
    this.encoder = codec === 'opus' ? new OpusEncoder(out, this.onError) : new Pcm16Encoder(out);
  }

  private onFrame(f: MicFrame): void {
    if (f.echo && this.echoNow.on) this.echoNow = { on: true, ...f.echo };
    const sent = this.sending;
    if (sent) this.encoder!.encode(f.seq, f.t, f.samples);
    this.onLevelObservable.notifyObservers({ rms: f.rms, dbfs: toDbfs(f.rms), sent });
  }

  /** @internal stops the tracks and the encoder, and forgets the key */
  _dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.pushToTalkKey = null;
    this.capture?.stop();
    this.capture = null;
    this.echoNow = { ...this.echoNow, on: false };
    this.encoder?.close();
    this.encoder = null;
    this.onLevelObservable.clear();
  }
}
