import { describe, expect, it } from 'vitest';
import type { NpcVoice } from '../../../plugin/audio/npc-voice.ts';
import { NpcCaptions } from '../../../plugin/captions/captions.ts';
import { bindCaptions, type TextSource } from '../../../plugin/captions/voice-binding.ts';
import { FakeStreamClock } from '../support/babylon-head.ts';
import { fakeVoice } from '../support/fake-voice.ts';

// the plugin's NpcVoice is what games pass in: it must fit the binding (checked by the type checker)
type Fits<T, U> = T extends U ? true : false;
const voiceFitsCaptions: Fits<NpcVoice, TextSource> = true;

describe('captions on a voice', () => {
  it('bindCaptions feeds pieces and flushes on interruption', () => {
    expect(voiceFitsCaptions).toBe(true);
    const clock = new FakeStreamClock();
    const voice = fakeVoice(clock);
    const captions = new NpcCaptions({ clock, leadFrames: 0 });
    const unbind = bindCaptions(voice, captions);
    voice.onTextObservable.notifyObservers({ i: 0, piece: '▁Copy' });
    voice.onTextObservable.notifyObservers({ i: 2, piece: '▁that' });
    clock.streamPosition = 1920;
    captions.update(16);
    voice.onInterruptedObservable.notifyObservers({});
    clock.streamPosition = 10 * 1920;
    captions.update(16);
    expect(captions.text).toBe('Copy');
    unbind();
    expect(voice.onTextObservable.hasObservers()).toBe(false);
  });
});
