/**
 * Engine worker: hosts one in-thread DuplexEngine built by the module named in 'init', and answers the
 * host's requests in order. Blocking work (ONNX runs, TTS) happens here, never on the room's event loop.
 */
import { parentPort } from 'node:worker_threads';
import { toEngineError, type DuplexEngine } from '../contract.ts';
import type { HostRequest, WorkerReply } from './messages.ts';

if (!parentPort) throw new Error('engine worker entry must run in a worker thread');
const port = parentPort;
let engine: DuplexEngine | null = null;

function reply(msg: WorkerReply, transfer: ArrayBuffer[] = []) {
  port.postMessage(msg, transfer);
}

async function handle(req: HostRequest): Promise<void> {
  try {
    if (req.op === 'init') {
      const mod = (await import(req.module)) as { createEngine?: (o: unknown) => DuplexEngine | Promise<DuplexEngine> };
      if (typeof mod.createEngine !== 'function') throw new Error(`${req.module} exports no createEngine()`);
      engine = await mod.createEngine(req.options);
      const { name, label, capacity, textLeadFrames } = engine;
      reply({ id: req.id, ok: true, info: { name, label, capacity, textLeadFrames } });
      return;
    }
    if (!engine) throw new Error('engine worker used before init');
    switch (req.op) {
      case 'open': {
        const session = await engine.open(req.persona, {
          onProgress: (progress) => reply({ id: req.id, progress }),
        });
        reply({ id: req.id, ok: true, session });
        return;
      }
      case 'step': {
        const outputs = await engine.step(req.batch);
        const transfer = outputs.map((o) => o.output.buffer as ArrayBuffer).filter((b, i, all) => all.indexOf(b) === i);
        reply({ id: req.id, ok: true, outputs }, transfer);
        return;
      }
      case 'close':
        await engine.close(req.session);
        reply({ id: req.id, ok: true });
        return;
      case 'dispose':
        await engine.dispose();
        reply({ id: req.id, ok: true });
        return;
    }
  } catch (err) {
    reply({ id: req.id, ok: false, error: toEngineError(err) });
  }
}

// Requests are handled one at a time, in arrival order, as the engine contract assumes.
let queue = Promise.resolve();
port.on('message', (req: HostRequest) => {
  queue = queue.then(() => handle(req));
});
