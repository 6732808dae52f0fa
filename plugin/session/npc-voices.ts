/**
 * `parley.voices`: the NPC voices of a session. Creates each voice on first use (or ahead, for a behavior),
 * binds voices to meshes, decodes each NPC's packets, and hands every message about an NPC to its voice: the
 * voice's observables are the one event surface for speech, text, visemes, interruptions and status.
 *
 * Frames and events that arrive while a voice is still being created wait in a bounded queue. Status comes from
 * the synced room state only, read once per rendered frame.
 */
import { Observable, type Observer } from '@babylonjs/core/Misc/observable.js';
import type { Node } from '@babylonjs/core/node.js';
import type { Scene } from '@babylonjs/core/scene.js';
import { Kind, type NpcEventMsg, type NpcVoiceMsg, type TextMsg } from '../../protocol/messages.ts';
import { npcStatusOf, type PartialRoomStateView } from '../../protocol/room-view.ts';
import { NpcVoice, type NpcVoiceOptions } from '../audio/npc-voice.ts';
import { VoiceDecoder } from '../audio/voice-decoder.ts';
import type { NpcStateEvent } from '../types.ts';

/** a voice being created: frames that arrive meanwhile wait here (bounded) */
const MAX_EARLY_FRAMES = 25;

/** What the voices need from their session. */
export interface VoicesHost {
  readonly scene: Scene;
  readonly audioContext: AudioContext;
  readonly audioEngine: NpcVoiceCreateEngine;
  readonly roomState: PartialRoomStateView | null;
  readonly onErrorObservable: Observable<Error>;
}
type NpcVoiceCreateEngine = Parameters<typeof NpcVoice.create>[2];

export class NpcVoices {
  /** a voice was created (before any of its frames play) */
  readonly onVoiceCreatedObservable = new Observable<NpcVoice>();

  private readonly voices = new Map<string, NpcVoice>();
  private readonly creating = new Map<string, Promise<NpcVoice>>();
  private readonly early = new Map<string, Array<(v: NpcVoice) => void>>();
  private readonly decoders = new Map<string, VoiceDecoder>();
  private readonly bindings = new Map<string, Node>();
  private readonly renderObserver: Observer<Scene>;
  private volumeNow: number;
  private disposed = false;

  /** @internal created by the session */
  constructor(
    private readonly host: VoicesHost,
    private readonly options: NpcVoiceOptions = {},
  ) {
    this.volumeNow = options.volume ?? 1;
    this.renderObserver = host.scene.onBeforeRenderObservable.add(() => this.readStatus());
  }

  /**
   * Volume of every NPC voice, 0..1 (more amplifies); also applies to voices created later. Default: the
   * `voice.volume` connect option, else 1.
   */
  get volume(): number {
    return this.volumeNow;
  }

  set volume(value: number) {
    if (!Number.isFinite(value) || value < 0) throw new Error(`Parley: voices.volume must be a number ≥ 0 (got ${value})`);
    this.volumeNow = value;
    this.voices.forEach((v) => (v.sound.volume = value));
  }

  /** The voice of `npc` if it exists already. */
  get(npc: string): NpcVoice | null {
    return this.voices.get(npc) ?? null;
  }

  /** The voice of `npc`, created on first use (NpcVoiceBehavior calls it, so lip-sync can hook on early). */
  getAsync(npc: string): Promise<NpcVoice> {
    const existing = this.voices.get(npc);
    if (existing) return Promise.resolve(existing);
    let p = this.creating.get(npc);
    if (!p) {
      const options = { ...this.options, volume: this.volumeNow };
      p = NpcVoice.create(npc, this.host.audioContext, this.host.audioEngine, options).then((voice) => {
        this.creating.delete(npc);
        if (this.disposed) {
          voice.dispose();
          throw new Error('Parley: disposed');
        }
        this.voices.set(npc, voice);
        if (voice.sound.volume !== this.volumeNow) voice.sound.volume = this.volumeNow; // changed meanwhile
        const node = this.bindings.get(npc);
        if (node) voice.attachTo(node);
        const seen = this.statusFromState(npc);
        if (seen) voice._status(seen, false);
        this.onVoiceCreatedObservable.notifyObservers(voice);
        for (const run of this.early.get(npc) ?? []) run(voice);
        this.early.delete(npc);
        return voice;
      });
      p.catch((err: Error) => {
        this.creating.delete(npc);
        this.early.delete(npc);
        if (!this.disposed) this.host.onErrorObservable.notifyObservers(err);
      });
      this.creating.set(npc, p);
    }
    return p;
  }

  /** Every voice created so far. */
  [Symbol.iterator](): IterableIterator<NpcVoice> {
    return this.voices.values();
  }

  /** Play `npc`'s voice from `node`, following it as it moves (what NpcVoiceBehavior does). */
  bind(npc: string, node: Node): void {
    this.bindings.set(npc, node);
    this.voices.get(npc)?.attachTo(node);
  }

  /** Undo `bind` (only if `node` is still the one bound). */
  unbind(npc: string, node: Node): void {
    if (this.bindings.get(npc) !== node) return;
    this.bindings.delete(npc);
    this.voices.get(npc)?.attachTo(null);
  }

  /** @internal the session routes each NPC message here */
  _receive(msg: NpcVoiceMsg | TextMsg | NpcEventMsg): void {
    if (this.disposed) return;
    switch (msg.k) {
      case Kind.NpcVoice: {
        if (typeof msg.npc !== 'string' || !Number.isInteger(msg.i) || !(msg.data instanceof Uint8Array)) {
          this.host.onErrorObservable.notifyObservers(new Error('Parley: malformed NPC voice message'));
          return;
        }
        this.decoderFor(msg.npc).decode(msg.codec, msg.i, msg.data);
        const vis = msg.vis;
        if (vis) this.withVoice(msg.npc, (v) => v._visemes(msg.i, vis));
        this.placeUnbound(msg.npc);
        return;
      }
      case Kind.Text:
        this.withVoice(msg.npc, (v) => v._text(msg.i, msg.piece));
        return;
      case Kind.NpcEvent:
        this.onNpcEvent(msg);
        return;
    }
  }

  private onNpcEvent(msg: NpcEventMsg): void {
    const npc = msg.npc;
    switch (msg.e) {
      case 'speech-started':
      case 'speech-ended': {
        const kind = msg.e;
        const i = msg.i;
        this.withVoice(npc, (v) => v._speech(kind, i));
        return;
      }
      case 'interrupted':
      case 'paused': {
        // Flush at once: what is queued in the decoder and the playout buffer is speech the player cut off or
        // talked over (a paused NPC says its word again if it carries on, and its captions stand).
        this.decoders.get(npc)?.flush();
        this.early.delete(npc); // frames waiting for a voice being created are stale too
        const voice = this.voices.get(npc);
        if (msg.e === 'interrupted') voice?.interrupt(msg.i);
        else voice?._pause(msg.i);
        return;
      }
      case 'resumed':
        this.voices.get(npc)?._resume(msg.i);
        return;
      default:
        // Status and errors travel in the room state only (read each frame); older servers also sent them
        // as events, which are ignored.
        return;
    }
  }

  /** Run `fn` with the NPC's voice now, or once it exists (bounded, so a flood cannot grow memory). */
  private withVoice(npc: string, fn: (v: NpcVoice) => void): void {
    const v = this.voices.get(npc);
    if (v) return fn(v);
    const queue = this.early.get(npc) ?? [];
    if (queue.length < MAX_EARLY_FRAMES) queue.push(fn);
    this.early.set(npc, queue);
    void this.getAsync(npc).catch(() => {});
  }

  private decoderFor(npc: string): VoiceDecoder {
    let d = this.decoders.get(npc);
    if (!d) {
      d = new VoiceDecoder(
        (i, samples) => this.withVoice(npc, (v) => v.pushFrame(i, samples)),
        (err) => this.host.onErrorObservable.notifyObservers(err),
      );
      this.decoders.set(npc, d);
    }
    return d;
  }

  /** Place a voice with no mesh at the NPC's position from the room state, when the state has one. */
  private placeUnbound(npc: string): void {
    if (this.bindings.has(npc)) return;
    const voice = this.voices.get(npc);
    const s = this.host.roomState?.npcs?.get(npc);
    if (voice && s && typeof s.x === 'number' && typeof s.y === 'number' && typeof s.z === 'number') {
      voice.setPosition(s.x, s.y, s.z);
    }
  }

  /** The NPC's status event as the room state has it now, or null when the state has no such NPC yet. */
  private statusFromState(npc: string): NpcStateEvent | null {
    const s = this.host.roomState?.npcs?.get(npc);
    if (!s) return null;
    const ev: NpcStateEvent = { npc, state: npcStatusOf(s) };
    if (ev.state === 'warming' && typeof s.progress === 'number') ev.progress = s.progress;
    if (typeof s.detail === 'string' && s.detail !== '') ev.detail = s.detail;
    return ev;
  }

  /** Once per frame: tell each voice whose NPC's status, progress or detail changed in the room state. */
  private readStatus(): void {
    for (const [npc, voice] of this.voices) {
      const ev = this.statusFromState(npc);
      const was = voice.statusEvent;
      if (ev && (ev.state !== was.state || ev.progress !== was.progress || ev.detail !== was.detail)) voice._status(ev);
    }
  }

  /**
   * @internal The session re-joins on another server: each NPC's stream starts over there (frame indices from
   * 0), so decoders, frames waiting for a voice and playout buffers are dropped; voices and their bindings stay.
   */
  _resetStreams(): void {
    if (this.disposed) return;
    this.decoders.forEach((d) => d.close());
    this.decoders.clear();
    this.early.clear();
    this.voices.forEach((v) => v._resetStream());
  }

  /** @internal the session disposes its voices */
  _dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.host.scene.onBeforeRenderObservable.remove(this.renderObserver);
    this.decoders.forEach((d) => d.close());
    this.decoders.clear();
    this.voices.forEach((v) => v.dispose());
    this.voices.clear();
    this.early.clear();
    this.onVoiceCreatedObservable.clear();
  }
}
