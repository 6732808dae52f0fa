/**
 * TTS thread: one espeak instance answering synthesis requests in order, so that a second of synthesis never
 * sits inside an engine step. The 24 kHz samples are transferred, not copied.
 */
import { serve } from '../worker/serve.ts';
import { EspeakTts, type VoiceProfile } from './tts.ts';

export type TtsRequest = { voice: VoiceProfile; text: string };

serve<TtsRequest>(() => {
  const tts = EspeakTts.create();
  return async (req, ctx) => {
    const synthesis = (await tts).synthesize(req.voice, req.text);
    ctx.transfer([synthesis.samples.buffer as ArrayBuffer]);
    return synthesis;
  };
});
