/**
 * ParleyVoice: the plugin's entry before the session split (issue 12), kept for one release as a deprecated
 * alias of ParleySession. New code uses ParleySession and its parts (`mic`, `voices`, `pose`) and listens on
 * each NPC voice's observables; docs/plugin.md lists what replaces each member.
 */
import { Observable } from '@babylonjs/core/Misc/observable.js';
import type { Node } from '@babylonjs/core/node.js';
import type { NpcVoice } from './audio/npc-voice.ts';
import { ParleySession, type ParleyConnectOptions, type SessionInit } from './session/parley-session.ts';
import type { MicMode } from './session/parley-mic.ts';
import type { MicLevelEvent, NpcErrorEvent, NpcFrameEvent, NpcStateEvent, NpcTextEvent, NpcVisemeEvent } from './types.ts';

/** @deprecated use ParleySession; removed in the next release */
export class ParleyVoice extends ParleySession {
  /** @deprecated ParleySession.connect */
  static override async connect(options: ParleyConnectOptions): Promise<ParleyVoice> {
    return (await super.connect(options)) as ParleyVoice;
  }

  /** @deprecated each voice's onSpeechStartedObservable */
  readonly onSpeechStartedObservable = new Observable<NpcFrameEvent>();
  /** @deprecated each voice's onSpeechEndedObservable */
  readonly onSpeechEndedObservable = new Observable<NpcFrameEvent>();
  /** @deprecated each voice's onInterruptedObservable */
  readonly onInterruptedObservable = new Observable<NpcFrameEvent>();
  /** @deprecated each voice's onTextObservable */
  readonly onTextObservable = new Observable<NpcTextEvent>();
  /** @deprecated each voice's onVisemesObservable */
  readonly onVisemesObservable = new Observable<NpcVisemeEvent>();
  /** @deprecated each voice's onStatusObservable (fed by the room state) */
  readonly onNpcStateObservable = new Observable<NpcStateEvent>();
  /** @deprecated each voice's onStatusObservable, status 'error' (the detail is the message) */
  readonly onNpcErrorObservable = new Observable<NpcErrorEvent>();

  protected constructor(init: SessionInit) {
    super(init);
    // Forward every voice's events to the session-wide observables of the old API.
    this.voices.onVoiceCreatedObservable.add((v) => {
      v.onSpeechStartedObservable.add((e) => this.onSpeechStartedObservable.notifyObservers(e));
      v.onSpeechEndedObservable.add((e) => this.onSpeechEndedObservable.notifyObservers(e));
      v.onInterruptedObservable.add((e) => this.onInterruptedObservable.notifyObservers(e));
      v.onTextObservable.add((e) => this.onTextObservable.notifyObservers(e));
      v.onVisemesObservable.add((e) => this.onVisemesObservable.notifyObservers(e));
      v.onStatusObservable.add((e) => {
        this.onNpcStateObservable.notifyObservers(e);
        if (e.state === 'error') this.onNpcErrorObservable.notifyObservers({ npc: e.npc, message: e.detail ?? '' });
      });
    });
  }

  /** @deprecated voices.onVoiceCreatedObservable */
  get onVoiceCreatedObservable(): Observable<NpcVoice> {
    return this.voices.onVoiceCreatedObservable;
  }

  /** @deprecated mic.onLevelObservable */
  get onMicLevelObservable(): Observable<MicLevelEvent> {
    return this.mic.onLevelObservable;
  }

  /** @deprecated mic.mode */
  get mode(): MicMode {
    return this.mic.mode;
  }

  set mode(value: MicMode) {
    this.mic.mode = value;
  }

  /** @deprecated mic.muted */
  get muted(): boolean {
    return this.mic.muted;
  }

  set muted(value: boolean) {
    this.mic.muted = value;
  }

  /** @deprecated mic.talking = on */
  setTalking(on: boolean): void {
    this.mic.talking = on;
  }

  /** @deprecated mic.talking */
  get isTalking(): boolean {
    return this.mic.talking;
  }

  /** @deprecated mic.sentFrames */
  get sentFrames(): number {
    return this.mic.sentFrames;
  }

  /** @deprecated voices.getAsync(npc) */
  voiceFor(npc: string): Promise<NpcVoice> {
    return this.voices.getAsync(npc);
  }

  /** @deprecated voices.get(npc) */
  getVoice(npc: string): NpcVoice | null {
    return this.voices.get(npc);
  }

  /** @deprecated voices.bind(npc, node) */
  bindMesh(npc: string, node: Node): void {
    this.voices.bind(npc, node);
  }

  /** @deprecated voices.unbind(npc, node) */
  unbindMesh(npc: string, node: Node): void {
    this.voices.unbind(npc, node);
  }

  override dispose(): void {
    super.dispose();
    for (const o of [
      this.onSpeechStartedObservable,
      this.onSpeechEndedObservable,
      this.onInterruptedObservable,
      this.onTextObservable,
      this.onVisemesObservable,
      this.onNpcStateObservable,
      this.onNpcErrorObservable,
    ] as Observable<unknown>[]) {
      o.clear();
    }
  }
}
