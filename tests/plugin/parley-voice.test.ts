/** The deprecated ParleyVoice (kept one release): its old members forward to the session's parts and voices. */
import { describe, expect, it } from 'vitest';
import { FreeCamera } from '@babylonjs/core/Cameras/freeCamera.js';
import { NullEngine } from '@babylonjs/core/Engines/nullEngine.js';
import { Vector3 } from '@babylonjs/core/Maths/math.vector.js';
import { Observable } from '@babylonjs/core/Misc/observable.js';
import { Scene } from '@babylonjs/core/scene.js';
import type { NpcVoice } from '../../plugin/audio/npc-voice.ts';
import { ParleyVoice } from '../../plugin/parley-voice.ts';
import type { SessionInit } from '../../plugin/session/parley-session.ts';

/** Builds one without connecting (connect() needs a server and audio); the audio parts are never touched here. */
class UnconnectedParleyVoice extends ParleyVoice {
  static create(): UnconnectedParleyVoice {
    const scene = new Scene(new NullEngine());
    const camera = new FreeCamera('cam', new Vector3(0, 0, 0), scene);
    const init = { scene, camera, audioContext: {}, audioEngine: {}, ownsEngine: false, options: { scene, mode: 'push-to-talk' } };
    return new UnconnectedParleyVoice(init as unknown as SessionInit);
  }
}

/** Stands in for an NpcVoice: the observables the old session-wide ones forward. */
function standInVoice(npc: string) {
  return {
    npc,
    onSpeechStartedObservable: new Observable<{ npc: string; i: number }>(),
    onSpeechEndedObservable: new Observable<{ npc: string; i: number }>(),
    onInterruptedObservable: new Observable<{ npc: string; i: number }>(),
    onTextObservable: new Observable<{ npc: string; i: number; piece: string }>(),
    onVisemesObservable: new Observable<unknown>(),
    onStatusObservable: new Observable<{ npc: string; state: string; detail?: string }>(),
  };
}

describe('ParleyVoice (deprecated)', () => {
  it('mic settings forward to parley.mic', () => {
    const p = UnconnectedParleyVoice.create();
    expect(p.mode).toBe('push-to-talk');
    p.mode = 'open-mic';
    expect(p.mic.mode).toBe('open-mic');
    p.muted = true;
    expect(p.mic.muted).toBe(true);
    p.setTalking(true);
    expect(p.mic.talking).toBe(true);
    expect(p.isTalking).toBe(true);
    expect(p.sentFrames).toBe(0);
    expect(p.onMicLevelObservable).toBe(p.mic.onLevelObservable);
    expect(p.onVoiceCreatedObservable).toBe(p.voices.onVoiceCreatedObservable);
    p.dispose();
  });

  it("the session-wide NPC observables forward every voice's events; an error status is an NPC error", () => {
    const p = UnconnectedParleyVoice.create();
    const got: string[] = [];
    p.onSpeechStartedObservable.add((e) => got.push(`start ${e.npc} ${e.i}`));
    p.onInterruptedObservable.add((e) => got.push(`cut ${e.npc} ${e.i}`));
    p.onTextObservable.add((e) => got.push(`text ${e.piece}`));
    p.onNpcStateObservable.add((e) => got.push(`state ${e.npc} ${e.state}`));
    p.onNpcErrorObservable.add((e) => got.push(`error ${e.npc} ${e.message}`));
    const alex = standInVoice('alex');
    p.voices.onVoiceCreatedObservable.notifyObservers(alex as unknown as NpcVoice);
    alex.onSpeechStartedObservable.notifyObservers({ npc: 'alex', i: 2 });
    alex.onTextObservable.notifyObservers({ npc: 'alex', i: 3, piece: '▁Hi' });
    alex.onInterruptedObservable.notifyObservers({ npc: 'alex', i: 4 });
    alex.onStatusObservable.notifyObservers({ npc: 'alex', state: 'listening' });
    alex.onStatusObservable.notifyObservers({ npc: 'alex', state: 'error', detail: 'engine crashed' });
    expect(got).toEqual(['start alex 2', 'text ▁Hi', 'cut alex 4', 'state alex listening', 'state alex error', 'error alex engine crashed']);
    p.dispose();
    expect(p.onTextObservable.hasObservers()).toBe(false);
  });
});
