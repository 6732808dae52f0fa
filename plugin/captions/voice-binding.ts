/** Feeds an NPC voice stream's text pieces and interruptions to its captions. */
import type { NpcCaptions } from './captions.ts';

interface ObservableLike<T> {
  add(cb: (event: T) => void): unknown;
  remove(observer: unknown): boolean;
}

/** The parts of NpcVoiceStream (plugin/types.ts) the captions use. */
export interface TextSource {
  readonly streamPosition: number;
  readonly onTextObservable: ObservableLike<{ i: number; piece: string }>;
  readonly onInterruptedObservable: ObservableLike<unknown>;
}

/** Returns a function that unhooks the captions again. */
export function bindCaptions(voice: TextSource, captions: NpcCaptions): () => void {
  const onText = voice.onTextObservable.add((e) => captions.addPiece(e.i, e.piece));
  const onCut = voice.onInterruptedObservable.add(() => captions.flush(voice.streamPosition));
  return () => {
    voice.onTextObservable.remove(onText);
    voice.onInterruptedObservable.remove(onCut);
  };
}
