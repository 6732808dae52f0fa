/**
 * ParleyVoice: the one object a game creates. It joins (or adopts) the Colyseus room, streams the player's mic
 * and pose, and plays every NPC's speech as spatial sound from that NPC's mesh, with Babylon-style observables
 * for speech, interruptions, text, NPC and session state, and the mic level.
 */
import type { AudioEngineV2 } from '@babylonjs/core/AudioV2/abstractAudio/audioEngineV2.js';
import { CreateAudioEngineAsync } from '@babylonjs/core/AudioV2/webAudio/webAudioEngine.js';
import type { Camera } from '@babylonjs/core/Cameras/camera.js';
import { Vector3 } from '@babylonjs/core/Maths/math.vector.js';
import { Observable, type Observer } from '@babylonjs/core/Misc/observable.js';
import type { Node } from '@babylonjs/core/node.js';
import type { Scene } from '@babylonjs/core/scene.js';
import type { Codec } from '../protocol/codecs.ts';
import { Kind, type ServerMsg, type Vec3, type WelcomeMsg } from '../protocol/messages.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import { WebRtcLoopback } from './audio/echo-loopback.ts';
import { MicCapture, type MicFrame, type MicOptions } from './audio/mic-capture.ts';
import { NpcVoice, type NpcVoiceOptions } from './audio/npc-voice.ts';
import { VoiceDecoder, canDecodeOpus } from './audio/voice-decoder.ts';
import { OpusEncoder, Pcm16Encoder, canEncodeOpus, type EncodedVoice, type VoiceEncoder } from './audio/voice-encoder.ts';
import { loadParleyWorklets } from './audio/worklet-loader.ts';
import { toDbfs } from './dsp/pcm16.ts';
import { ParleyLink, type RoomLike } from './net/parley-link.ts';
import { PoseReporter, type PoseReporterOptions } from './net/pose-reporter.ts';
import type {
  MicLevelEvent,
  NpcErrorEvent,
  NpcFrameEvent,
  NpcStateEvent,
  NpcTextEvent,
  NpcVisemeEvent,
  RefusedEvent,
  SessionState,
  SessionStateEvent,
} from './types.ts';

export type MicMode = 'open-mic' | 'push-to-talk';

export interface ParleyConnectOptions {
  scene: Scene;
  /** the listener and the pose source (default: the scene's active camera) */
  camera?: Camera;
  /** a room the game already joined with `ParleyVoice.joinOptions(...)`; the game keeps owning it */
  room?: RoomLike;
  /** or: the server to join (ws:// or wss://), joined with `roomName` and `joinOptions` */
  url?: string;
  roomName?: string;
  joinOptions?: Record<string, unknown>;
  /** share the game's AudioEngineV2 (its context is used); by default Parley creates its own */
  audioEngine?: AudioEngineV2;
  /** or just the AudioContext to use (never a 24 kHz one: Firefox refuses it; any rate works) */
  audioContext?: AudioContext;
  /** microphone options, or false to only listen */
  mic?: MicOptions | false;
  mode?: MicMode;
  /** KeyboardEvent.code held to talk in push-to-talk mode (e.g. 'KeyV'); or call setTalking() yourself */
  pushToTalkKey?: string;
  muted?: boolean;
  /** pose throttling, or false to not send the pose (the game reports it some other way) */
  pose?: PoseReporterOptions | false;
  /** spatial and jitter-buffer settings of every NPC voice */
  voice?: NpcVoiceOptions;
  /**
   * Chromium's echo canceller ignores Web Audio output (crbug.com/687574): true routes the audio engine's output
   * through a local WebRTC loopback so it is cancelled, at some extra latency. Off by default (see docs/plugin.md).
   */
  echoLoopback?: boolean;
  /** how long connect() waits for the server's Welcome before it fails (default 10 000 ms) */
  welcomeTimeoutMs?: number;
  /** where the worklet module is hosted, when the inlined Blob URL is not allowed (CSP) */
  workletUrl?: string;
  /** restrict the codecs offered (e.g. ['pcm16'] to debug); by default Opus when WebCodecs has it, and PCM16 */
  codecs?: { send?: Codec[]; recv?: Codec[] };
}

/** a voice being created: frames that arrive meanwhile wait here (bounded) */
const MAX_EARLY_FRAMES = 25;

export class ParleyVoice {
  /** the most recently connected instance, for behaviors created without one */
  static current: ParleyVoice | null = null;
  static readonly onConnectedObservable = new Observable<ParleyVoice>();

  /** Join options for a room the game joins itself: `client.joinOrCreate('parley', ParleyVoice.joinOptions({...}))`. */
  static joinOptions<T extends Record<string, unknown>>(options?: T): T & { protocol: string } {
    return { ...(options ?? ({} as T)), protocol: PROTOCOL_VERSION };
  }

  readonly onSessionStateObservable = new Observable<SessionStateEvent>();
  readonly onSpeechStartedObservable = new Observable<NpcFrameEvent>();
  readonly onSpeechEndedObservable = new Observable<NpcFrameEvent>();
  readonly onInterruptedObservable = new Observable<NpcFrameEvent>();
  /** caption text: each SentencePiece piece as it arrives ('▁' starts a word) */
  readonly onTextObservable = new Observable<NpcTextEvent>();
  readonly onVisemesObservable = new Observable<NpcVisemeEvent>();
  readonly onNpcStateObservable = new Observable<NpcStateEvent>();
  readonly onNpcErrorObservable = new Observable<NpcErrorEvent>();
  readonly onMicLevelObservable = new Observable<MicLevelEvent>();
  readonly onRefusedObservable = new Observable<RefusedEvent>();
  /** problems that do not end the session (a bad message, a codec failure) */
  readonly onErrorObservable = new Observable<Error>();
  readonly onVoiceCreatedObservable = new Observable<NpcVoice>();

  mode: MicMode;
  muted: boolean;

  private link: ParleyLink | null = null;
  private mic: MicCapture | null = null;
  private encoder: VoiceEncoder | null = null;
  private readonly voices = new Map<string, NpcVoice>();
  private readonly creating = new Map<string, Promise<NpcVoice>>();
  private readonly early = new Map<string, Array<(v: NpcVoice) => void>>();
  private readonly decoders = new Map<string, VoiceDecoder>();
  private readonly bindings = new Map<string, Node>();
  private talking = false;
  private disposed = false;
  private ownsRoom = false;
  private ownsEngine = false;
  private pose: PoseReporter | null = null;
  /** the WebRTC loopback when `echoLoopback` is on */
  loopback: WebRtcLoopback | null = null;
  private renderObserver: Observer<Scene> | null = null;
  private readonly cleanups: Array<() => void> = [];
  private readonly forward = new Vector3();
  private readonly localForward: Vector3;
  /** frames sent since connect (for diagnostics) */
  sentFrames = 0;

  private constructor(
    readonly scene: Scene,
    readonly camera: Camera,
    readonly audioContext: AudioContext,
    readonly audioEngine: AudioEngineV2,
    private readonly options: ParleyConnectOptions,
  ) {
    this.mode = options.mode ?? 'open-mic';
    this.muted = options.muted ?? false;
    this.localForward = new Vector3(0, 0, scene.useRightHandedSystem ? -1 : 1);
  }

  /**
   * Connect a game to Parley; resolves once the server welcomed the session and the mic runs. Call it from a
   * user gesture (a click) so audio and the mic start at once.
   */
  static async connect(options: ParleyConnectOptions): Promise<ParleyVoice> {
    if (!options?.scene) throw new Error('Parley: connect() needs { scene }');
    const camera = options.camera ?? options.scene.activeCamera;
    if (!camera) throw new Error('Parley: no camera (pass { camera } or set scene.activeCamera)');
    if (!options.room && !options.url) throw new Error('Parley: pass { room } (already joined) or { url } (to join)');

    const givenCtx =
      options.audioContext ?? (options.audioEngine as unknown as { _audioContext?: AudioContext } | undefined)?._audioContext;
    const ctx = givenCtx ?? new AudioContext({ latencyHint: 'interactive' });
    const engine =
      options.audioEngine ??
      (await CreateAudioEngineAsync({ audioContext: ctx, listenerEnabled: true, resumeOnInteraction: true }));
    const parley = new ParleyVoice(options.scene, camera, ctx, engine, options);
    parley.ownsEngine = !options.audioEngine;
    try {
      await parley.start();
    } catch (err) {
      parley.dispose();
      throw err;
    }
    ParleyVoice.current = parley;
    ParleyVoice.onConnectedObservable.notifyObservers(parley);
    return parley;
  }

  private async start(): Promise<void> {
    const o = this.options;
    this.audioEngine.listener.attach(this.camera);
    this.installUnlock();
    if (o.echoLoopback) {
      // Babylon's main output node (internal, stable across 9.x): its gain node feeds ctx.destination.
      const mainOut = (this.audioEngine as unknown as { mainOut?: { _inNode?: AudioNode } }).mainOut?._inNode;
      if (!mainOut) throw new Error('Parley: echoLoopback could not find the audio engine output node');
      this.loopback = await WebRtcLoopback.start(this.audioContext, mainOut);
    }
    await loadParleyWorklets(this.audioContext, o.workletUrl);

    const [opusOut, opusIn] = await Promise.all([canEncodeOpus(), canDecodeOpus()]);
    const send = o.codecs?.send ?? (opusOut ? ['opus', 'pcm16'] : ['pcm16']);
    const recv = o.codecs?.recv ?? (opusIn ? ['opus', 'pcm16'] : ['pcm16']);

    this.emitState('connecting');
    let room = o.room;
    if (!room) {
      const { Client } = await import('@colyseus/sdk');
      room = (await new Client(o.url!).joinOrCreate(o.roomName ?? 'parley', ParleyVoice.joinOptions(o.joinOptions))) as unknown as RoomLike;
      this.ownsRoom = true;
    }
    if (this.disposed) return;
    this.link = new ParleyLink(room, { send: send as Codec[], recv: recv as Codec[] }, {
      onState: (state, reason) => this.onLinkState(state, reason),
      onMessage: (msg) => this.route(msg),
      onError: (err) => this.onErrorObservable.notifyObservers(err),
    });
    this.emitState('joined');
    this.link.hello();
    await this.welcomed(o.welcomeTimeoutMs ?? 10_000);

    if (o.mic !== false) {
      this.mic = await MicCapture.start(this.audioContext, (f) => this.onMicFrame(f), o.mic || {});
      if (this.disposed) this.mic.stop();
    }
    if (o.pushToTalkKey) this.installPushToTalkKey(o.pushToTalkKey);
    if (o.pose !== false) {
      this.pose = new PoseReporter((p, f) => this.link?.sendPose(p, f), o.pose || {});
      this.renderObserver = this.scene.onBeforeRenderObservable.add(() => this.reportPose());
    }
  }

  /** Resolves on the server's Welcome; rejects on refusal, disconnection or timeout. */
  private welcomed(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.onSessionStateObservable.remove(observer);
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(
        () => done(new Error(`Parley: no Welcome from the server within ${timeoutMs} ms (is this a Parley room?)`)),
        timeoutMs,
      );
      const observer = this.onSessionStateObservable.add(({ state, reason }) => {
        if (state === 'ready') done();
        else if (state === 'refused' || state === 'disconnected') done(new Error(`Parley: session ${state}${reason ? `: ${reason}` : ''}`));
      });
      if (this.link?.state === 'ready') done();
    });
  }

  // ── session ────────────────────────────────────────────────────────────────────────────────────────────
  get state(): SessionState {
    return this.link?.state ?? 'connecting';
  }

  /** The server's Welcome (codecs, engine label, text lead), once received. */
  get welcome(): WelcomeMsg | null {
    return this.link?.welcome ?? null;
  }

  get room(): RoomLike | null {
    return this.link?.room ?? null;
  }

  private onLinkState(state: SessionState, reason?: string): void {
    if (state === 'ready') this.setupEncoder();
    if (state === 'ready' || state === 'joined') this.pose?.invalidate();
    this.emitState(state, reason);
  }

  private emitState(state: SessionState, reason?: string): void {
    this.onSessionStateObservable.notifyObservers(reason === undefined ? { state } : { state, reason });
  }

  // ── microphone ─────────────────────────────────────────────────────────────────────────────────────────
  /** Push-to-talk: whether the talk key is held. */
  setTalking(on: boolean): void {
    this.talking = on;
  }

  get isTalking(): boolean {
    return this.talking;
  }

  private get sending(): boolean {
    return !this.muted && (this.mode === 'open-mic' || this.talking) && (this.link?.ready ?? false);
  }

  private setupEncoder(): void {
    const codec = this.link?.welcome?.send;
    if (!codec || this.encoder?.codec === codec) return;
    this.encoder?.close();
    const out = (v: EncodedVoice) => {
      // Encoded output is asynchronous: check again that the link is up, and never queue.
      if (this.link?.sendVoice(v.seq, v.t, v.codec, v.data)) this.sentFrames++;
    };
    this.encoder =
      codec === 'opus' ? new OpusEncoder(out, (err) => this.onErrorObservable.notifyObservers(err)) : new Pcm16Encoder(out);
  }

  private onMicFrame(f: MicFrame): void {
    const sent = this.sending && this.encoder !== null;
    if (sent) this.encoder!.encode(f.seq, f.t, f.samples);
    this.onMicLevelObservable.notifyObservers({ rms: f.rms, dbfs: toDbfs(f.rms), sent });
  }

  private installPushToTalkKey(code: string): void {
    const down = (e: KeyboardEvent) => {
      if (e.code === code && !e.repeat) this.talking = true;
    };
    const up = (e: KeyboardEvent) => {
      if (e.code === code) this.talking = false;
    };
    const blur = () => (this.talking = false);
    window.addEventListener('keydown', down);
    window.addEventListener('keyup', up);
    window.addEventListener('blur', blur);
    this.cleanups.push(() => {
      window.removeEventListener('keydown', down);
      window.removeEventListener('keyup', up);
      window.removeEventListener('blur', blur);
    });
  }

  /** Browsers start audio suspended until a user gesture: resume on the first one. */
  private installUnlock(): void {
    if (typeof document === 'undefined' || this.audioContext.state === 'running') return;
    const events = ['pointerdown', 'keydown', 'touchend'] as const;
    const unlock = () => {
      this.loopback?.resume();
      void this.audioEngine.unlockAsync().then(() => {
        if (this.audioContext.state === 'running') remove();
      });
    };
    const remove = () => events.forEach((e) => document.removeEventListener(e, unlock, true));
    events.forEach((e) => document.addEventListener(e, unlock, true));
    this.cleanups.push(remove);
  }

  // ── pose ───────────────────────────────────────────────────────────────────────────────────────────────
  private reportPose(): void {
    if (!this.pose || !this.link) return;
    const p = this.camera.globalPosition;
    this.camera.getDirectionToRef(this.localForward, this.forward);
    const pos: Vec3 = [p.x, p.y, p.z];
    const fwd: Vec3 = [this.forward.x, this.forward.y, this.forward.z];
    this.pose.update(performance.now(), pos, fwd);
  }

  // ── NPC voices ─────────────────────────────────────────────────────────────────────────────────────────
  /** The voice of `npc`, created on first use (also by NpcVoiceBehavior, so lip-sync can hook on early). */
  voiceFor(npc: string): Promise<NpcVoice> {
    const existing = this.voices.get(npc);
    if (existing) return Promise.resolve(existing);
    let p = this.creating.get(npc);
    if (!p) {
      p = NpcVoice.create(npc, this.audioContext, this.audioEngine, this.options.voice).then((voice) => {
        this.creating.delete(npc);
        if (this.disposed) {
          voice.dispose();
          throw new Error('Parley: disposed');
        }
        this.voices.set(npc, voice);
        const node = this.bindings.get(npc);
        if (node) voice.attachTo(node);
        this.onVoiceCreatedObservable.notifyObservers(voice);
        for (const run of this.early.get(npc) ?? []) run(voice);
        this.early.delete(npc);
        return voice;
      });
      p.catch((err: Error) => {
        this.creating.delete(npc);
        this.early.delete(npc);
        if (!this.disposed) this.onErrorObservable.notifyObservers(err);
      });
      this.creating.set(npc, p);
    }
    return p;
  }

  /** The voice of `npc` if it exists already. */
  getVoice(npc: string): NpcVoice | null {
    return this.voices.get(npc) ?? null;
  }

  /** Play `npc`'s voice from `node` (what NpcVoiceBehavior does). */
  bindMesh(npc: string, node: Node): void {
    this.bindings.set(npc, node);
    this.voices.get(npc)?.attachTo(node);
  }

  unbindMesh(npc: string, node: Node): void {
    if (this.bindings.get(npc) !== node) return;
    this.bindings.delete(npc);
    this.voices.get(npc)?.attachTo(null);
  }

  /** Run `fn` with the NPC's voice now, or once it exists (bounded, so a flood cannot grow memory). */
  private withVoice(npc: string, fn: (v: NpcVoice) => void): void {
    const v = this.voices.get(npc);
    if (v) return fn(v);
    const queue = this.early.get(npc) ?? [];
    if (queue.length < MAX_EARLY_FRAMES) queue.push(fn);
    this.early.set(npc, queue);
    void this.voiceFor(npc).catch(() => {});
  }

  private decoderFor(npc: string): VoiceDecoder {
    let d = this.decoders.get(npc);
    if (!d) {
      d = new VoiceDecoder(
        (i, samples) => this.withVoice(npc, (v) => v.pushFrame(i, samples)),
        (err) => this.onErrorObservable.notifyObservers(err),
      );
      this.decoders.set(npc, d);
    }
    return d;
  }

  /** Place a voice with no mesh at the NPC's position from the room state, when the state has one. */
  private placeUnbound(npc: string): void {
    if (this.bindings.has(npc)) return;
    const voice = this.voices.get(npc);
    const npcs = (this.link?.room.state as { npcs?: { get?(id: string): unknown } } | undefined)?.npcs;
    const s = npcs?.get?.(npc) as { x?: unknown; y?: unknown; z?: unknown } | undefined;
    if (voice && s && typeof s.x === 'number' && typeof s.y === 'number' && typeof s.z === 'number') {
      voice.setPosition(s.x, s.y, s.z);
    }
  }

  private route(msg: Exclude<ServerMsg, WelcomeMsg>): void {
    if (this.disposed) return;
    switch (msg.k) {
      case Kind.NpcVoice: {
        if (typeof msg.npc !== 'string' || !Number.isInteger(msg.i) || !(msg.data instanceof Uint8Array)) {
          this.onErrorObservable.notifyObservers(new Error('Parley: malformed NPC voice message'));
          return;
        }
        this.decoderFor(msg.npc).decode(msg.codec, msg.i, msg.data);
        if (msg.vis) {
          const ev: NpcVisemeEvent = { npc: msg.npc, i: msg.i, track: msg.vis };
          this.withVoice(msg.npc, (v) => v._visemes(msg.i, msg.vis!));
          this.onVisemesObservable.notifyObservers(ev);
        }
        this.placeUnbound(msg.npc);
        return;
      }
      case Kind.Text: {
        this.withVoice(msg.npc, (v) => v._text(msg.i, msg.piece));
        this.onTextObservable.notifyObservers({ npc: msg.npc, i: msg.i, piece: msg.piece });
        return;
      }
      case Kind.NpcEvent: {
        const npc = msg.npc;
        switch (msg.e) {
          case 'speech-started':
          case 'speech-ended': {
            const kind = msg.e;
            const i = msg.i;
            this.withVoice(npc, (v) => v._speech(kind, i));
            (kind === 'speech-started' ? this.onSpeechStartedObservable : this.onSpeechEndedObservable).notifyObservers({ npc, i });
            return;
          }
          case 'interrupted':
            // Flush at once: what is queued in the decoder and the jitter buffer is speech the player cut off.
            this.decoders.get(npc)?.flush();
            this.early.delete(npc); // frames waiting for a voice being created are stale too
            this.voices.get(npc)?.interrupt(msg.i);
            this.onInterruptedObservable.notifyObservers({ npc, i: msg.i });
            return;
          case 'state': {
            const ev: NpcStateEvent = { npc, state: msg.state };
            if (msg.progress !== undefined) ev.progress = msg.progress;
            if (msg.detail !== undefined) ev.detail = msg.detail;
            this.onNpcStateObservable.notifyObservers(ev);
            return;
          }
          case 'error':
            this.onNpcErrorObservable.notifyObservers({ npc, message: msg.message });
            return;
        }
        return;
      }
      case Kind.Refused:
        this.onRefusedObservable.notifyObservers({ code: msg.code, message: msg.message });
        return;
    }
  }

  // ── teardown ───────────────────────────────────────────────────────────────────────────────────────────
  /** Release the mic, the worklets, the voices and (if Parley joined it) the room. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.renderObserver) this.scene.onBeforeRenderObservable.remove(this.renderObserver);
    this.cleanups.forEach((c) => c());
    this.mic?.stop();
    this.mic = null;
    this.encoder?.close();
    this.encoder = null;
    this.decoders.forEach((d) => d.close());
    this.decoders.clear();
    this.loopback?.stop();
    this.loopback = null;
    this.voices.forEach((v) => v.dispose());
    this.voices.clear();
    this.early.clear();
    const room = this.link?.room;
    this.link?.dispose();
    if (room && this.ownsRoom) void room.leave(true).catch(() => {});
    if (this.ownsEngine) this.audioEngine.dispose(); // closes the AudioContext it created
    if (ParleyVoice.current === this) ParleyVoice.current = null;
    for (const o of [
      this.onSessionStateObservable,
      this.onSpeechStartedObservable,
      this.onSpeechEndedObservable,
      this.onInterruptedObservable,
      this.onTextObservable,
      this.onVisemesObservable,
      this.onNpcStateObservable,
      this.onNpcErrorObservable,
      this.onMicLevelObservable,
      this.onRefusedObservable,
      this.onErrorObservable,
      this.onVoiceCreatedObservable,
    ] as Observable<unknown>[]) {
      o.clear();
    }
  }
}
