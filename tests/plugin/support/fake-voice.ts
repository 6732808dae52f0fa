/** Stands in for an NpcVoice (plugin/audio/npc-voice.ts): the clock and the observables lip-sync and captions use. */
import { Observable } from '@babylonjs/core/Misc/observable.js';
import type { VisemeTrack } from '../../../protocol/visemes.ts';
import type { FakeStreamClock } from './babylon-head.ts';

export function fakeVoice(clock: FakeStreamClock) {
  return {
    get streamPosition() {
      return clock.streamPosition;
    },
    get playing() {
      return clock.playing;
    },
    onVisemesObservable: new Observable<{ track: VisemeTrack }>(),
    onTextObservable: new Observable<{ i: number; piece: string }>(),
    onInterruptedObservable: new Observable<unknown>(),
  };
}
