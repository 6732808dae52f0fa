/**
 * TTS in its own thread (tts-worker.ts). The engine thread only waits for a line in the rare case that it is
 * due before it is ready; a TTS thread that dies fails its pending lines and is started again on next use.
 */
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import type { Synthesis, TtsBackend, VoiceProfile } from './tts.ts';

const ENTRY = fileURLToPath(new URL('./tts-bootstrap.mjs', import.meta.url));

type Reply = { id: number; ok: true; synthesis: Synthesis } | { id: number; ok: false; error: string };

export class ThreadedTts implements TtsBackend {
  private worker: Worker | null = null;
  private nextId = 1;
  private pending = new Map<number, { resolve: (s: Synthesis) => void; reject: (e: Error) => void }>();
  private disposed = false;

  private spawn(): Worker {
    const w = new Worker(ENTRY);
    w.on('message', (r: Reply) => {
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if (this.pending.size === 0) w.unref(); // an idle TTS thread must not keep a process alive
      if (r.ok) p.resolve(r.synthesis);
      else p.reject(new Error(`tts: ${r.error}`));
    });
    const fail = (why: string) => {
      if (this.worker !== w) return;
      this.worker = null;
      for (const p of this.pending.values()) p.reject(new Error(`tts thread failed: ${why}`));
      this.pending.clear();
    };
    w.on('error', (e) => fail(e.message));
    w.on('exit', (code) => fail(`exited with code ${code}`));
    return w;
  }

  synthesize(voice: VoiceProfile, text: string): Promise<Synthesis> {
    if (this.disposed) return Promise.reject(new Error('tts thread disposed'));
    this.worker ??= this.spawn();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker!.ref();
      this.worker!.postMessage({ id, voice, text });
    });
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const w = this.worker;
    this.worker = null;
    for (const p of this.pending.values()) p.reject(new Error('tts thread disposed'));
    this.pending.clear();
    await w?.terminate();
  }
}
