/**
 * The worker side of a WorkerHost: answers the host's requests one at a time, in arrival order (the engine
 * contract and the codecs' per-session state both rely on it), except requests the module marks as detached:
 * those start in order (after everything sent before them) but do not hold up what comes after, so an engine's
 * step can overtake a long open (a prompt prefill) that the engine itself interleaves with its steps. Replies
 * carry a value or a typed EngineError, and
 * gives the module a pino logger whose records go to the main thread's logger (one destination, one format; the
 * host adds its own bindings such as the engine and worker slot).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createRequire } from 'node:module';
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

export interface ServeOptions<Req> {
  /**
   * Requests that need not finish before later ones start (default: none). A detached request still waits
   * for every request sent before it; only the ones after it stop waiting for it.
   */
  detached?: (req: Req) => boolean;
}

/**
 * Starts answering; `makeHandler(log)` builds the request handler. The logger is built on first use, so a worker
 * that never logs (the codec threads) never loads pino and starts sooner.
 */
export function serve<Req>(makeHandler: (log: Logger) => Handler<Req>, options: ServeOptions<Req> = {}): void {
  if (!parentPort) throw new Error('this module runs in a worker thread started by WorkerHost');
  const port = parentPort;
  const post = (msg: WorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);
  const boot = workerData as WorkerBoot;
  let logger: Logger | undefined;
  const build = (): Logger => {
    const { pino } = createRequire(import.meta.url)('pino') as typeof import('pino');
    return pino({ level: boot?.level ?? 'info', base: undefined, timestamp: false }, { write: (line: string) => post({ log: line }) });
  };
  const log = new Proxy({} as Logger, {
    get: (_t, key) => {
      const real = (logger ??= build());
      const v = Reflect.get(real, key, real) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(real) : v;
    },
  });
  const handler = makeHandler(log);
  let queue = Promise.resolve();
  port.on('message', (msg: HostMessage<Req>) => {
    const run = async () => {
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
    };
    // A detached request starts behind the queue as it stands but is not added to it.
    if (options.detached?.(msg.body)) void queue.then(run);
    else queue = queue.then(run);
  });
}
