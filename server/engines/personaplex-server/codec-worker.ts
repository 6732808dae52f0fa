/** Codec worker: the per-session Opus/Ogg state for many sessions, off the room's event loop. */
import { serve } from '../worker/serve.ts';
import type { CodecReply, CodecRequest } from './codec-host.ts';
import { DownstreamDecoder, UpstreamEncoder } from './stream-codec.ts';

serve<CodecRequest>(() => {
  const sessions = new Map<number, { up: UpstreamEncoder; down: DownstreamDecoder }>();
  return (req, ctx): CodecReply => {
    if (req.op === 'ping') {
      // load and run the codec once, so the first session's frames do not wait for it
      new DownstreamDecoder();
      new UpstreamEncoder().encode(new Float32Array(1920));
      return;
    }
    if (req.op === 'open') {
      sessions.set(req.id, { up: new UpstreamEncoder(req.options), down: new DownstreamDecoder(req.options) });
      return;
    }
    const s = sessions.get(req.id);
    if (!s) return; // closed or failed: later requests for it are moot
    try {
      switch (req.op) {
        case 'encode': {
          const pages = s.up.encode(req.pcm);
          ctx.transfer(pages.map((p) => p.buffer as ArrayBuffer));
          return pages;
        }
        case 'audio': {
          const frames = s.down.pushAudio(req.bytes);
          ctx.transfer(frames.map((f) => f.pcm.buffer as ArrayBuffer));
          return frames;
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
      throw err;
    }
  };
});
