/**
 * Runs a `.pt` voice conversion in a worker thread and resolves with its frames. The engine awaits this from
 * `open()`, so sessions already stepping keep their ticks while a new NPC's voice is prepared.
 */
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import type { VoiceFrames } from './voices.ts';

const ENTRY = fileURLToPath(new URL('./voice-thread.mjs', import.meta.url));

export function convertPtInThread(pt: string, temporal: string): Promise<VoiceFrames> {
  return new Promise((resolve, reject) => {
    const w = new Worker(ENTRY, { workerData: { pt, temporal } });
    let settled = false;
    w.once('message', (m: { ok: true; frames: VoiceFrames } | { ok: false; error: string }) => {
      settled = true;
      if (m.ok) resolve(m.frames);
      else reject(new Error(m.error));
      void w.terminate();
    });
    w.once('error', (e) => {
      if (!settled) reject(e);
      settled = true;
    });
    w.once('exit', (code) => {
      if (!settled) reject(new Error(`voice conversion thread exited with code ${code}`));
      settled = true;
    });
  });
}
