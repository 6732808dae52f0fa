/**
 * Hooks a LipSyncDriver onto an NPC voice stream (plugin/types.ts NpcVoiceStream): every viseme track goes to the
 * driver, an interruption or a pause (its buffered audio was dropped) flushes it at the playhead.
 */
import type { VisemeTrack } from '../../protocol/visemes.ts';
import type { LipSyncDriver } from './driver.ts';

interface ObservableLike<T> {
  add(cb: (event: T) => void): unknown;
  remove(observer: unknown): boolean;
}

/** The parts of NpcVoiceStream the binding uses. */
export interface VisemeSource {
  readonly streamPosition: number;
  readonly onVisemesObservable: ObservableLike<{ track: VisemeTrack }>;
  readonly onInterruptedObservable: ObservableLike<unknown>;
  readonly onPausedObservable?: ObservableLike<unknown>;
}

/** Returns a function that unhooks the driver again. */
export function bindLipSync(voice: VisemeSource, driver: LipSyncDriver): () => void {
  const onVis = voice.onVisemesObservable.add((e) => driver.applyTrack(e.track));
  const onCut = voice.onInterruptedObservable.add(() => driver.flush(voice.streamPosition));
  const onPause = voice.onPausedObservable?.add(() => driver.flush(voice.streamPosition));
  return () => {
    voice.onVisemesObservable.remove(onVis);
    voice.onInterruptedObservable.remove(onCut);
    if (onPause !== undefined) voice.onPausedObservable?.remove(onPause);
  };
}
