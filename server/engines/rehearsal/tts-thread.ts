/**
 * TTS in its own thread (tts-worker.ts), on a WorkerHost. The engine thread only waits for a line in the rare
 * case that it is due before it is ready; a TTS thread that dies fails its pending lines and is started again on
 * next use (after a short backoff if it keeps dying). An idle TTS thread does not keep the process alive.
 */
import type { Logger } from '../../log.ts';
import { WorkerHost } from '../worker/host.ts';
import type { Synthesis, TtsBackend, VoiceProfile } from './tts.ts';
import type { TtsRequest } from './tts-worker.ts';

export class ThreadedTts implements TtsBackend {
  private readonly host: WorkerHost<TtsRequest>;

  constructor(log?: Logger) {
    this.host = new WorkerHost<TtsRequest>({
      module: new URL('./tts-worker.ts', import.meta.url),
      name: 'tts thread',
      log: log?.child({ thread: 'tts' }),
      lazy: true,
      respawn: 'on-demand',
      backoff: { initialMs: 100, maxMs: 5000 },
      keepAlive: 'while-pending',
    });
  }

  synthesize(voice: VoiceProfile, text: string): Promise<Synthesis> {
    return this.host.request<Synthesis>({ voice, text });
  }

  dispose(): Promise<void> {
    return this.host.dispose();
  }
}
