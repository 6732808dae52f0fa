/**
 * ParleySession: one player's voice session with a Parley room. It joins (or adopts) the Colyseus room, says
 * hello and waits for the Welcome, owns (or shares) the audio engine, and holds the session's parts:
 *
 *   parley.mic     the player's microphone: mode, mute, push-to-talk, level
 *   parley.voices  the NPC voices: each NPC's speech as spatial sound, and its events and status
 *   parley.pose    the listener's pose sent to the server
 *
 * Session-wide observables are the link's own: state, refusals and non-fatal errors. Everything about one NPC
 * is on its voice (`parley.voices.get(npc)`, or `onVoiceCreatedObservable`).
 */
import type { AudioEngineV2 } from '@babylonjs/core/AudioV2/abstractAudio/audioEngineV2.js';
import { CreateAudioEngineAsync } from '@babylonjs/core/AudioV2/webAudio/webAudioEngine.js';
import type { Camera } from '@babylonjs/core/Cameras/camera.js';
import { Observable } from '@babylonjs/core/Misc/observable.js';
import type { Scene } from '@babylonjs/core/scene.js';
import type { Codec } from '../../protocol/codecs.ts';
import { Kind, type ServerMsg, type WelcomeMsg } from '../../protocol/messages.ts';
import type { PartialRoomStateView } from '../../protocol/room-view.ts';
import { PROTOCOL_VERSION } from '../../protocol/version.ts';
import { engineAudioContext, engineOutputNode } from '../audio/babylon-internals.ts';
import { WebRtcLoopback } from '../audio/echo-loopback.ts';
import { defaultAecWasmUrl, loadAecWasm } from '../aec/wasm-url.ts';
import type { MicOptions } from '../audio/mic-capture.ts';
import type { NpcVoiceOptions } from '../audio/npc-voice.ts';
import { canDecodeOpus } from '../audio/voice-decoder.ts';
import { canEncodeOpus } from '../audio/voice-encoder.ts';
import { loadParleyWorklets } from '../audio/worklet-loader.ts';
import { ParleyLink, type RoomLike } from '../net/parley-link.ts';
import type { PoseReporterOptions } from '../net/pose-reporter.ts';
import type { HeardEvent, RefusedEvent, SessionState, SessionStateEvent } from '../types.ts';
import { installAudioUnlock } from './audio-unlock.ts';
import { NpcVoices } from './npc-voices.ts';
import { PlayedReporter } from '../net/played-reporter.ts';
import { ParleyMic, type MicMode } from './parley-mic.ts';
import { ParleyPose } from './parley-pose.ts';
import { registerSceneSession, unregisterSceneSession } from './scene-sessions.ts';

export interface ParleyConnectOptions {
  scene: Scene;
  /** the listener and the pose source (default: the scene's active camera) */
  camera?: Camera;
  /** a room the game already joined with `ParleySession.joinOptions(...)`; the game keeps owning it */
  room?: RoomLike;
  /** or: the server to join (ws:// or wss://), joined with `roomName` and `joinOptions` */
  url?: string;
  roomName?: string;
  joinOptions?: Record<string, unknown>;
  /** the player's token from the game's backend, checked by the server's join verifier (docs/security.md) */
  token?: string;
  /** share the game's AudioEngineV2 (its context is used); by default Parley creates its own */
  audioEngine?: AudioEngineV2;
  /** or just the AudioContext to use (never a 24 kHz one: Firefox refuses it; any rate works) */
  audioContext?: AudioContext;
  /** microphone options, or false to only listen */
  mic?: MicOptions | false;
  /** initial `mic.mode` */
  mode?: MicMode;
  /** initial `mic.pushToTalkKey`: a KeyboardEvent.code held to talk (e.g. 'KeyV') */
  pushToTalkKey?: string;
  /** initial `mic.muted` */
  muted?: boolean;
  /** pose throttling, or false to not send the pose (the game reports it some other way) */
  pose?: PoseReporterOptions | false;
  /** spatial and playout-buffer settings of every NPC voice */
  voice?: NpcVoiceOptions;
  /**
   * Chromium's echo canceller ignores Web Audio output (crbug.com/687574): true routes the audio engine's output
   * through a local WebRTC loopback so it is cancelled, at some extra latency. Off by default (see docs/plugin.md).
   */
  echoLoopback?: boolean;
  /**
   * The player uses headphones: nothing the speakers play reaches the mic, so echo cancellation is not needed
   * (it stays off unless `echoCancellation` says otherwise).
   */
  headphones?: boolean;
  /**
   * Cancel what the speakers play (every NPC voice, the game's sound) from the microphone, in the capture
   * worklet, with WebRTC's AEC3 compiled to WebAssembly. Default: on unless `headphones`. See docs/plugin.md, Echo.
   */
  echoCancellation?: boolean;
  /** where webrtc-aec3.wasm is served (default: beside the plugin bundle) */
  echoWasmUrl?: string;
  /**
   * Test-only: a simulated room between the speakers and the mic. Gets the audio engine's output, returns a node
   * whose output is added to the microphone's signal before capture.
   */
  testEchoPath?: (ctx: BaseAudioContext, speakers: AudioNode) => AudioNode;
  /**
   * Re-join the room by name when its server drains (close code 4001) or is gone (no reconnection within
   * `rejoinAfterMs`): by default on when Parley joined the room from `url`; for a room the game joined, pass the
   * game's own join (`() => client.joinOrCreate(name, ParleySession.joinOptions(...))`). false turns it off.
   * State meanwhile: 'rejoining' (docs/plugin.md).
   */
  rejoin?: false | (() => Promise<RoomLike>);
  /** how long the SDK may try to reconnect to the same room before the session re-joins by name (default 2000 ms) */
  rejoinAfterMs?: number;
  /** how long connect() waits for the server's Welcome before it fails (default 10 000 ms) */
  welcomeTimeoutMs?: number;
  /** where the worklet module is hosted, when the inlined Blob URL is not allowed (CSP) */
  workletUrl?: string;
  /** restrict the codecs offered (e.g. ['pcm16'] to debug); by default Opus when WebCodecs has it, and PCM16 */
  codecs?: { send?: Codec[]; recv?: Codec[] };
}

/** @internal what connect() hands the constructor */
export interface SessionInit {
  scene: Scene;
  camera: Camera;
  audioContext: AudioContext;
  audioEngine: AudioEngineV2;
  ownsEngine: boolean;
  options: ParleyConnectOptions;
}

export class ParleySession {
  /** Join options for a room the game joins itself: `client.joinOrCreate('parley', ParleySession.joinOptions({...}))`. */
  static joinOptions<T extends Record<string, unknown>>(options?: T): T & { protocol: string } {
    return { ...(options ?? ({} as T)), protocol: PROTOCOL_VERSION };
  }

  /**
   * Connect a game to Parley; resolves once the server welcomed the session and the mic runs. Call it from a
   * user gesture (a click) so audio and the mic start at once.
   */
  static async connect(options: ParleyConnectOptions): Promise<ParleySession> {
    if (!options?.scene) throw new Error('Parley: connect() needs { scene }');
    const camera = options.camera ?? options.scene.activeCamera;
    if (!camera) throw new Error('Parley: no camera (pass { camera } or set scene.activeCamera)');
    if (!options.room && !options.url) throw new Error('Parley: pass { room } (already joined) or { url } (to join)');

    const givenCtx = options.audioContext ?? (options.audioEngine ? engineAudioContext(options.audioEngine) : undefined);
    const audioContext = givenCtx ?? new AudioContext({ latencyHint: 'interactive' });
    const audioEngine =
      options.audioEngine ??
      (await CreateAudioEngineAsync({ audioContext, listenerEnabled: true, resumeOnInteraction: true }));
    const init: SessionInit = { scene: options.scene, camera, audioContext, audioEngine, ownsEngine: !options.audioEngine, options };
    const session = new this(init);
    try {
      await session.start();
    } catch (err) {
      session.dispose();
      throw err;
    }
    registerSceneSession(options.scene, session);
    return session;
  }

  /** the connection's state as it changes */
  readonly onSessionStateObservable = new Observable<SessionStateEvent>();
  /** the server refused something this player sent; the session continues */
  readonly onRefusedObservable = new Observable<RefusedEvent>();
  /** an NPC finished speaking for this player, with the words this player heard (docs/scenes.md) */
  readonly onHeardObservable = new Observable<HeardEvent>();
  /** problems that do not end the session (a bad message, a codec failure) */
  readonly onErrorObservable = new Observable<Error>();

  readonly scene: Scene;
  readonly camera: Camera;
  readonly audioContext: AudioContext;
  readonly audioEngine: AudioEngineV2;
  readonly mic: ParleyMic;
  readonly voices: NpcVoices;
  readonly pose: ParleyPose;

  private link: ParleyLink | null = null;
  private loopbackNow: WebRtcLoopback | null = null;
  private disposed = false;
  private ownsRoom = false;
  private readonly ownsEngine: boolean;
  private readonly options: ParleyConnectOptions;
  private readonly cleanups: Array<() => void> = [];
  /** how far each NPC voice has played, told to the server (what this player heard: docs/scenes.md) */
  private readonly played = new PlayedReporter((npc, i) => this.link?.sendPlayed(npc, i) ?? false);

  /** Use `connect()`. */
  protected constructor(init: SessionInit) {
    this.scene = init.scene;
    this.camera = init.camera;
    this.audioContext = init.audioContext;
    this.audioEngine = init.audioEngine;
    this.ownsEngine = init.ownsEngine;
    this.options = init.options;
    const o = init.options;
    const onError = (err: Error) => this.onErrorObservable.notifyObservers(err);
    this.mic = new ParleyMic(() => this.link, onError, { mode: o.mode, muted: o.muted, pushToTalkKey: o.pushToTalkKey });
    this.voices = new NpcVoices(this, o.voice);
    this.pose = new ParleyPose(this.scene, this.camera, (p, f) => this.link?.sendPose(p, f), o.pose ?? {});
  }

  // ── the connection ──────────────────────────────────────────────────────────────────────────────────────
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

  /**
   * The synced room state, typed for reading: players (pose, who hears them) and NPCs (pose, status, progress,
   * detail). Its maps are missing until the first patch arrives.
   */
  get roomState(): PartialRoomStateView | null {
    return (this.link?.room.state as PartialRoomStateView | undefined) ?? null;
  }

  /** The WebRTC loopback when `echoLoopback` is on. */
  get loopback(): WebRtcLoopback | null {
    return this.loopbackNow;
  }

  private async start(): Promise<void> {
    const o = this.options;
    this.audioEngine.listener.attach(this.camera);
    this.cleanups.push(installAudioUnlock(this.audioContext, this.audioEngine, () => this.loopbackNow?.resume()));
    if (o.echoLoopback) this.loopbackNow = await WebRtcLoopback.start(this.audioContext, engineOutputNode(this.audioEngine));
    await loadParleyWorklets(this.audioContext, o.workletUrl);

    const [opusOut, opusIn] = await Promise.all([canEncodeOpus(), canDecodeOpus()]);
    const send = o.codecs?.send ?? (opusOut ? ['opus', 'pcm16'] : ['pcm16']);
    const recv = o.codecs?.recv ?? (opusIn ? ['opus', 'pcm16'] : ['pcm16']);

    this.emitState('connecting');
    let room = o.room;
    let joinByName: (() => Promise<RoomLike>) | undefined;
    if (!room) {
      const { Client } = await import('@colyseus/sdk');
      const roomName = o.roomName ?? 'parley';
      const joinOptions = ParleySession.joinOptions({ ...o.joinOptions, ...(o.token ? { token: o.token } : {}) });
      // the same name and options each time: through the load balancer, any process finds or creates the room
      joinByName = async () => (await new Client(o.url!).joinOrCreate(roomName, joinOptions)) as unknown as RoomLike;
      room = await joinByName();
      this.ownsRoom = true;
    }
    if (this.disposed) return;
    const rejoin = o.rejoin === false ? undefined : (o.rejoin ?? joinByName);
    this.link = new ParleyLink(
      room,
      { send: send as Codec[], recv: recv as Codec[] },
      {
        onState: (state, reason) => this.onLinkState(state, reason),
        onMessage: (msg) => this.route(msg),
        onError: (err) => this.onErrorObservable.notifyObservers(err),
      },
      rejoin ? { join: rejoin, afterMs: o.rejoinAfterMs } : undefined,
    );
    this.emitState('joined');
    // the canceller is loaded before hello, which tells the server whether this client cancels its echo (it gates
    // the uplink of one that does not)
    const echo = o.mic !== false ? await this.echoSetup() : undefined;
    if (this.disposed) return;
    this.link.setEcho(echo ? 'cancelled' : o.headphones ? 'headphones' : 'none');
    this.link.hello();
    await this.welcomed(o.welcomeTimeoutMs ?? 10_000);
    const reporting = setInterval(() => this.played.report(this.voices), 100);
    this.cleanups.push(() => clearInterval(reporting));

    if (o.mic !== false) {
      // the canceller fails (now or later): the server's gate takes over
      this.mic._onEchoOff = () => this.link?.setEcho('none');
      await this.mic._start(this.audioContext, o.mic || {}, echo);
    }
    if (!this.disposed) this.pose._start();
  }

  /** The canceller's WebAssembly and the speakers' tap, or undefined when echo cancellation is off. */
  private async echoSetup(): Promise<{ wasm: ArrayBuffer; reference: AudioNode; testEchoPath?: ParleyConnectOptions['testEchoPath'] } | undefined> {
    const o = this.options;
    if (!(o.echoCancellation ?? !o.headphones)) return undefined;
    const url = o.echoWasmUrl ?? defaultAecWasmUrl();
    try {
      return { wasm: await loadAecWasm(url), reference: engineOutputNode(this.audioEngine), testEchoPath: o.testEchoPath };
    } catch (err) {
      this.onErrorObservable.notifyObservers(new Error(`Parley: echo cancellation is off: could not load ${url} (${(err as Error).message})`));
      return undefined;
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

  private onLinkState(state: SessionState, reason?: string): void {
    // a new room on another server: NPC streams start over there; voices and their bindings stay
    if (state === 'rejoining') {
      this.voices._resetStreams();
      this.played.reset();
    }
    if (state === 'ready') this.mic._useCodec(this.link?.welcome?.send);
    if (state === 'ready' || state === 'joined') this.pose._invalidate();
    this.emitState(state, reason);
  }

  private emitState(state: SessionState, reason?: string): void {
    this.onSessionStateObservable.notifyObservers(reason === undefined ? { state } : { state, reason });
  }

  private route(msg: Exclude<ServerMsg, WelcomeMsg>): void {
    if (this.disposed) return;
    if (msg.k === Kind.Refused) this.onRefusedObservable.notifyObservers({ code: msg.code, message: msg.message });
    else if (msg.k === Kind.Heard) this.onHeardObservable.notifyObservers({ npc: msg.npc, words: msg.words, interrupted: msg.interrupted, reached: msg.reached });
    else this.voices._receive(msg);
  }

  // ── teardown ───────────────────────────────────────────────────────────────────────────────────────────
  /** Release the mic, the worklets, the voices and (if Parley joined it) the room. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    unregisterSceneSession(this.scene, this);
    this.pose._dispose();
    this.cleanups.forEach((c) => c());
    this.mic._dispose();
    this.loopbackNow?.stop();
    this.loopbackNow = null;
    this.voices._dispose();
    const room = this.link?.room;
    this.link?.dispose();
    if (room && this.ownsRoom) void room.leave(true).catch(() => {});
    if (this.ownsEngine) this.audioEngine.dispose(); // closes the AudioContext it created
    this.onSessionStateObservable.clear();
    this.onRefusedObservable.clear();
    this.onHeardObservable.clear();
    this.onErrorObservable.clear();
  }
}
