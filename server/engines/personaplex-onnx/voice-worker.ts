/**
 * Side thread for one `.pt` voice conversion: reads the temporal graph's embedding tables (about 1 GB as
 * float32 for the 7B), converts, posts the frames back and exits, so neither the tables nor the 10–60 s of
 * search ever sit on the engine's step thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { convertPtVoice, readEmbeddingTables } from './voices.ts';

const { pt, temporal } = workerData as { pt: string; temporal: string };
try {
  const frames = await convertPtVoice(pt, '', await readEmbeddingTables(temporal));
  parentPort!.postMessage({ ok: true, frames });
} catch (err) {
  parentPort!.postMessage({ ok: false, error: (err as Error).message });
}
