/**
 * A Babylon Behavior that binds a mesh (or any transform node) to an NPC id: that NPC's speech plays from it.
 *
 *   npcMesh.addBehavior(new NpcVoiceBehavior('guard', parley));
 *
 * Without a session it binds to the session of the node's scene, now or as soon as one connects there.
 */
import type { Behavior } from '@babylonjs/core/Behaviors/behavior.js';
import { Observable } from '@babylonjs/core/Misc/observable.js';
import type { Node } from '@babylonjs/core/node.js';
import type { NpcVoice } from './audio/npc-voice.ts';
import type { ParleySession } from './session/parley-session.ts';
import { withSceneSession } from './session/scene-sessions.ts';
import { attachLipSync, type AttachLipSyncOptions, type LipSync } from './lipsync/attach.ts';

export interface NpcVoiceBehaviorOptions {
  /**
   * Move the node's mouth with the voice (docs/lipsync.md). Default: on when the node or its child meshes have
   * viseme, ARKit or jaw morph targets, silently off otherwise; an options object turns it on with those options
   * (a missing rig is then reported with console.warn); false turns it off.
   */
  lipSync?: boolean | AttachLipSyncOptions;
}

export class NpcVoiceBehavior implements Behavior<Node> {
  readonly name = 'NpcVoice';
  /** fires once the NPC's voice exists (hook lip-sync and captions here) */
  readonly onVoiceReadyObservable = new Observable<NpcVoice>();
  private target: Node | null = null;
  private parley: Pick<ParleySession, 'voices'> | null;
  private stopWaiting: (() => void) | null = null;
  private voiceNow: NpcVoice | null = null;
  private lips: LipSync | null = null;

  constructor(
    readonly npc: string,
    parley?: Pick<ParleySession, 'voices'>,
    private readonly options: NpcVoiceBehaviorOptions = {},
  ) {
    if (typeof npc !== 'string' || npc.length === 0) throw new Error('NpcVoiceBehavior needs an NPC id');
    this.parley = parley ?? null;
  }

  /** The NPC's voice, once created. */
  get voice(): NpcVoice | null {
    return this.voiceNow;
  }

  /** The lip-sync driving this node's mouth, if any. */
  get lipSync(): LipSync | null {
    return this.lips;
  }

  get attachedNode(): Node | null {
    return this.target;
  }

  init(): void {}

  attach(target: Node): void {
    this.target = target;
    if (this.parley) this.bind(this.parley);
    else this.stopWaiting = withSceneSession<ParleySession>(target.getScene(), (p) => this.bind(p));
  }

  detach(): void {
    this.stopWaiting?.();
    this.stopWaiting = null;
    if (this.parley && this.target) this.parley.voices.unbind(this.npc, this.target);
    this.target = null;
    this.voiceNow = null;
    this.lips?.dispose();
    this.lips = null;
  }

  private bind(parley: Pick<ParleySession, 'voices'>): void {
    this.stopWaiting = null;
    this.parley = parley;
    if (!this.target) return;
    parley.voices.bind(this.npc, this.target);
    void parley.voices.getAsync(this.npc).then(
      (voice) => {
        if (!this.target) return;
        this.voiceNow = voice;
        this.startLipSync(voice, this.target);
        this.onVoiceReadyObservable.notifyObservers(voice);
      },
      () => {}, // reported on the session's onErrorObservable
    );
  }

  private startLipSync(voice: NpcVoice, target: Node): void {
    const opt = this.options.lipSync ?? true;
    if (opt === false || this.lips) return;
    try {
      this.lips = attachLipSync(voice, target, target.getScene(), {
        analyzer: voice.sound.analyzer,
        ...(typeof opt === 'object' ? opt : {}),
      });
    } catch (err) {
      if (typeof opt === 'object') console.warn(`[parley] ${this.npc}: ${(err as Error).message}`);
    }
  }
}
