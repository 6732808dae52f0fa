/**
 * TTS thread: one espeak instance answering synthesis requests in order, so that a second of synthesis never
 * sits inside an engine step. The 24 kHz samples are transferred, not copied.
 */
import { parentPort } from 'node:worker_threads';
import { EspeakTts, type VoiceProfile } from './tts.ts';

export type TtsRequest = { id: number; voice: VoiceProfile; text: string };

if (!parentPort) throw new Error('tts-worker must run in a worker thread');
const port = parentPort;
const tts = EspeakTts.create();

port.on('message', async (req: TtsRequest) => {
  try {
    const synthesis = (await tts).synthesize(req.voice, req.text);
    port.postMessage({ id: req.id, ok: true, synthesis }, [synthesis.samples.buffer as ArrayBuffer]);
  } catch (err) {
    port.postMessage({ id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) });
  }
});
