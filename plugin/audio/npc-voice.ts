/**
 * One NPC's voice: a playback worklet (jitter buffer + resampler + clock) wrapped as a Babylon AudioEngineV2
 * sound source, spatial with HRTF panning and inverse-distance attenuation, attached to the NPC's mesh.
 */
import type { AbstractSoundSource } from '@babylonjs/core/AudioV2/abstractAudio/abstractSoundSource.js';
import { CreateSoundSourceAsync, type AudioEngineV2 } from '@babylonjs/core/AudioV2/abstractAudio/audioEngineV2.js';
import { SpatialAudioAttachmentType } from '@babylonjs/core/AudioV2/spatialAudioAttachmentType.js';
import { Observable } from '@babylonjs/core/Misc/observable.js';
import type { Node } from '@babylonjs/core/node.js';
import { FRAME_SAMPLES, SAMPLE_RATE } from '../../protocol/frame.ts';
import type { VisemeTrack } from '../../protocol/visemes.ts';
import type { PlayoutBufferOptions } from '../dsp/playout-buffer.ts';
import type { NpcStatus } from '../../protocol/messages.ts';
import type {
  NpcFrameEvent,
  NpcStateEvent,
  NpcTextEvent,
  NpcVisemeEvent,
  NpcVoiceStream,
  VoicePlayoutStats,
} from '../types.ts';
import { PLAYBACK_PROCESSOR, type PlaybackClockMsg, type PlaybackControlMsg, type PlaybackProcessorOptions } from '../worklets/messages.ts';
import { StreamClock } from './stream-clock.ts';

export interface SpatialVoiceOptions {
  /** 'HRTF' (default) or 'equalpower' */
  panningModel?: 'HRTF' | 'equalpower';
  /** 'inverse' (default), 'linear' or 'exponential' */
  distanceModel?: 'inverse' | 'linear' | 'exponential';
  /** distance at which attenuation starts, world units (default 1) */
  minDistance?: number;
  /** distance beyond which it stops changing (default 10000) */
  maxDistance?: number;
  /** how fast it falls off (default 1) */
  rolloffFactor?: number;
}

export interface NpcVoiceOptions {
  spatial?: SpatialVoiceOptions;
  jitter?: PlayoutBufferOptions;
  /** 0..1+ (default 1) */
  volume?: number;
  /** write the clock through a SharedArrayBuffer (default: when the page is cross-origin isolated) */
  sharedClock?: boolean;
}

export class NpcVoice implements NpcVoiceStream {
  readonly onVisemesObservable = new Observable<NpcVisemeEvent>();
  readonly onTextObservable = new Observable<NpcTextEvent>();
  readonly onInterruptedObservable = new Observable<NpcFrameEvent>();
  readonly onPausedObservable = new Observable<NpcFrameEvent>();
  readonly onResumedObservable = new Observable<NpcFrameEvent>();
  readonly onSpeechStartedObservable = new Observable<NpcFrameEvent>();
  readonly onSpeechEndedObservable = new Observable<NpcFrameEvent>();
  /** the NPC's status changed in the room state (the one channel status travels on) */
  readonly onStatusObservable = new Observable<NpcStateEvent>();

  private statusNow: NpcStateEvent;
  private readonly clock: StreamClock;
  private disposed = false;
  private attached: Node | null = null;

  private constructor(
    readonly npc: string,
    /** the Babylon sound source; its `spatial`, `volume` and `analyzer` are the game's to use */
    readonly sound: AbstractSoundSource,
    private readonly node: AudioWorkletNode,
    clock: StreamClock,
  ) {
    this.clock = clock;
    this.statusNow = { npc, state: 'idle' };
    node.port.onmessage = (e: MessageEvent<PlaybackClockMsg>) => {
      if (e.data?.type === 'clock') this.clock.onReport(e.data);
    };
  }

  /** Build the voice. The parley worklets must already be loaded into `ctx` (see loadParleyWorklets). */
  static async create(npc: string, ctx: BaseAudioContext, engine: AudioEngineV2, options: NpcVoiceOptions = {}): Promise<NpcVoice> {
    const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
    const clock = new StreamClock(ctx, options.sharedClock ?? isolated);
    const processorOptions: PlaybackProcessorOptions = {
      streamRate: SAMPLE_RATE,
      frameSamples: FRAME_SAMPLES,
      jitter: options.jitter,
      reportEveryMs: clock.shared ? 250 : 20,
      ...(clock.shared ? { clock: clock.shared } : {}),
    };
    const node = new AudioWorkletNode(ctx, PLAYBACK_PROCESSOR, {
      numberOfInputs: 0,
      numberOfOutputs: 1,
      outputChannelCount: [1],
      processorOptions,
    });
    const s = options.spatial ?? {};
    const sound = await CreateSoundSourceAsync(
      `parley:${npc}`,
      node,
      {
        spatialEnabled: true,
        spatialPanningModel: s.panningModel ?? 'HRTF',
        spatialDistanceModel: s.distanceModel ?? 'inverse',
        spatialMinDistance: s.minDistance ?? 1,
        spatialMaxDistance: s.maxDistance ?? 10_000,
        spatialRolloffFactor: s.rolloffFactor ?? 1,
        volume: options.volume ?? 1,
      },
      engine,
    );
    return new NpcVoice(npc, sound, node, clock);
  }

  get streamPosition(): number {
    return this.clock.position;
  }

  get playing(): boolean {
    return this.clock.playing;
  }

  get stats(): VoicePlayoutStats {
    const r = this.clock.lastReport;
    return {
      bufferedMs: this.clock.bufferedMs,
      targetMs: this.clock.targetMs,
      underruns: this.clock.underruns,
      late: r?.late ?? 0,
      concealed: r?.concealed ?? 0,
      overrunDropped: r?.overrunDropped ?? 0,
    };
  }

  /** The NPC's status from the room state ('idle' until the state says otherwise). */
  get status(): NpcStatus {
    return this.statusNow.state;
  }

  /** Status, warming progress (0..1) and detail (error or busy reason), as last read from the room state. */
  get statusEvent(): Readonly<NpcStateEvent> {
    return this.statusNow;
  }

  /** The mesh (or any transform node) the voice comes from, or null. */
  get mesh(): Node | null {
    return this.attached;
  }

  /** Play the voice from `node` (following it as it moves), or detach with null. */
  attachTo(node: Node | null): void {
    if (this.disposed) return;
    this.attached = node;
    if (node) this.sound.spatial.attach(node, false, SpatialAudioAttachmentType.PositionAndRotation);
    else this.sound.spatial.detach();
  }

  /** Place an unattached voice (e.g. at the NPC position from room state). */
  setPosition(x: number, y: number, z: number): void {
    if (this.disposed || this.attached) return;
    this.sound.spatial.position.set(x, y, z);
    this.sound.spatial.update();
  }

  /** Queue one decoded 24 kHz frame (1920 samples); the buffer is transferred to the worklet. */
  pushFrame(i: number, samples: Float32Array): void {
    if (this.disposed) return;
    const msg: PlaybackControlMsg = { type: 'frame', i, samples };
    this.node.port.postMessage(msg, [samples.buffer]);
  }

  /** @internal fed by the connection */
  _visemes(i: number, track: VisemeTrack): void {
    this.onVisemesObservable.notifyObservers({ npc: this.npc, i, track });
  }

  /** @internal */
  _text(i: number, piece: string): void {
    this.onTextObservable.notifyObservers({ npc: this.npc, i, piece });
  }

  /** @internal */
  _speech(kind: 'speech-started' | 'speech-ended', i: number): void {
    (kind === 'speech-started' ? this.onSpeechStartedObservable : this.onSpeechEndedObservable).notifyObservers({ npc: this.npc, i });
  }

  /** @internal fed from the room state; `notify` false sets the first value without an event */
  _status(ev: NpcStateEvent, notify = true): void {
    this.statusNow = ev;
    if (notify && !this.disposed) this.onStatusObservable.notifyObservers(ev);
  }

  /** Drop everything buffered at once (the NPC was interrupted). */
  interrupt(i: number): void {
    if (this.disposed) return;
    this.dropBuffered();
    this.onInterruptedObservable.notifyObservers({ npc: this.npc, i });
  }

  /** @internal The NPC paused for the player's voice: drop what is buffered (it says the word again if it resumes). */
  _pause(i: number): void {
    if (this.disposed) return;
    this.dropBuffered();
    this.onPausedObservable.notifyObservers({ npc: this.npc, i });
  }

  /** @internal The NPC carries on with the utterance it paused. */
  _resume(i: number): void {
    if (!this.disposed) this.onResumedObservable.notifyObservers({ npc: this.npc, i });
  }

  private dropBuffered(): void {
    // the clock stops here and now; the worklet drops its buffer as soon as the message reaches it
    const msg: PlaybackControlMsg = { type: 'flush', seq: this.clock.interrupt() };
    this.node.port.postMessage(msg);
  }

  /** @internal The stream starts over (the session re-joined on another server): empty the playout buffer. */
  _resetStream(): void {
    if (this.disposed) return;
    const msg: PlaybackControlMsg = { type: 'reset' };
    this.node.port.postMessage(msg);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const stop: PlaybackControlMsg = { type: 'stop' };
    this.node.port.postMessage(stop);
    this.node.port.onmessage = null;
    this.node.port.close();
    this.sound.dispose(); // disconnects the worklet node
    for (const o of [this.onVisemesObservable, this.onTextObservable, this.onInterruptedObservable, this.onPausedObservable, this.onResumedObservable, this.onSpeechStartedObservable, this.onSpeechEndedObservable, this.onStatusObservable]) {
      o.clear();
    }
  }
}
