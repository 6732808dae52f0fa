/** Codec worker: the per-session Opus/Ogg state for many sessions, off the room's event loop. */
import { parentPort } from 'node:worker_threads';
import type { CodecReply, CodecRequest } from './codec-host.ts';
import { DownstreamDecoder, UpstreamEncoder } from './stream-codec.ts';

if (!parentPort) throw new Error('codec worker must run in a worker thread');
const port = parentPort;
const sessions = new Map<number, { up: UpstreamEncoder; down: DownstreamDecoder }>();

function reply(msg: CodecReply, transfer: ArrayBuffer[] = []) {
  port.postMessage(msg, transfer);
}

port.on('message', (req: CodecRequest) => {
  if (req.op === 'open') {
    try {
      sessions.set(req.id, { up: new UpstreamEncoder(req.options), down: new DownstreamDecoder() });
    } catch (err) {
      reply({ id: req.id, error: (err as Error).message });
    }
    return;
  }
  const s = sessions.get(req.id);
  if (!s) return; // closed or failed: later requests for it are moot
  try {
    switch (req.op) {
      case 'encode': {
        const pages = s.up.encode(req.pcm);
        reply({ id: req.id, pages }, pages.map((p) => p.buffer as ArrayBuffer));
        return;
      }
      case 'audio': {
        const frames = s.down.pushAudio(req.bytes);
        if (frames.length) reply({ id: req.id, frames }, frames.map((f) => f.pcm.buffer as ArrayBuffer));
        return;
      }
      case 'text':
        s.down.pushText(req.piece);
        return;
      case 'close':
        sessions.delete(req.id);
        return;
    }
  } catch (err) {
    sessions.delete(req.id);
    reply({ id: req.id, error: (err as Error).message });
  }
});
