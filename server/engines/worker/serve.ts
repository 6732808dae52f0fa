/**
 * The worker side of a WorkerHost: answers the host's requests one at a time, in arrival order (the engine
 * contract and the codecs' per-session state both rely on it), replies with a value or a typed EngineError, and
 * gives the module a pino logger whose records go to the main thread's logger (one destination, one format; the
 * host adds its own bindings such as the engine and worker slot).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import type { Logger } from '../../log.ts';
import { toEngineError } from '../contract.ts';
import type { HostMessage, WorkerBoot, WorkerMessage } from './protocol.ts';

export interface RequestContext {
  /** sends progress for this request (opens) */
  progress(p: unknown): void;
  /** buffers to transfer, not copy, with this request's reply */
  transfer(buffers: ArrayBuffer[]): void;
}

export type Handler<Req> = (req: Req, ctx: RequestContext) => unknown;

/** Starts answering; `handler(log)` builds the request handler once the logger exists. */
export function serve<Req>(makeHandler: (log: Logger) => Handler<Req>): Logger {
  if (!parentPort) throw new Error('this module runs in a worker thread started by WorkerHost');
  const port = parentPort;
  const post = (msg: WorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);
  const boot = workerData as WorkerBoot;
  const log = pino({ level: boot?.level ?? 'info', base: undefined, timestamp: false }, { write: (line: string) => post({ log: line }) });
  const handler = makeHandler(log);
  let queue = Promise.resolve();
  port.on('message', (msg: HostMessage<Req>) => {
    queue = queue.then(async () => {
      let transfer: ArrayBuffer[] = [];
      const ctx: RequestContext = {
        progress: (progress) => post({ id: msg.id, progress }),
        transfer: (buffers) => (transfer = buffers),
      };
      try {
        const value = await handler(msg.body, ctx);
        post({ id: msg.id, ok: true, value }, transfer);
      } catch (err) {
        post({ id: msg.id, ok: false, error: toEngineError(err) });
      }
    });
  });
  return log;
}
