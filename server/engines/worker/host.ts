/**
 * One request/reply host for a module running in a worker thread: numbered requests with optional deadlines and
 * progress, replies matched to them, crash handling (every pending request fails as 'crashed'), respawn with
 * exponential backoff, and the worker's log records written through this thread's logger. The engine pool, the
 * rehearsal TTS thread and the PersonaPlex codec threads all run on it; the worker side is serve.ts, the one
 * bootstrap is bootstrap.mjs.
 */
import { Worker } from 'node:worker_threads';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { silentLogger, type Logger } from '../../log.ts';
import { EngineFailure } from '../contract.ts';
import type { HostMessage, WorkerBoot, WorkerMessage } from './protocol.ts';

const BOOTSTRAP = fileURLToPath(new URL('./bootstrap.mjs', import.meta.url));

export interface WorkerHostOptions {
  /** the worker module (absolute path or file URL); it calls serve() */
  module: string | URL;
  /** what to call it in errors, e.g. 'engine worker' (default 'worker') */
  name?: string;
  log?: Logger;
  /**
   * After the worker dies: 'eager' starts a new one once the backoff has passed (then calls onSpawn); 'on-demand'
   * starts one for the next request, not before the backoff has passed; 'never' stays dead.
   */
  respawn?: 'eager' | 'on-demand' | 'never';
  /** delay before the n-th consecutive respawn: initialMs · 2^(n-1), at most maxMs; a good reply resets n */
  backoff?: { initialMs: number; maxMs: number };
  /** 'always' (default) keeps the process alive; 'while-pending' only while requests wait; 'never' never */
  keepAlive?: 'always' | 'while-pending' | 'never';
  /** start the first worker now (default) or on the first request */
  lazy?: boolean;
  /** after every start, before anything else is sent (e.g. the engine pool's init) */
  onSpawn?: (host: WorkerHost<never>) => void;
  /** after a death (crash, exit, error, or a deadline overrun that killed it) */
  onDeath?: (why: string) => void;
}

export interface RequestOptions {
  /** no reply within this time fails the request as 'timeout' and replaces the worker (it is stuck: requests after it run in order behind it) */
  timeoutMs?: number;
  transfer?: ArrayBuffer[];
  onProgress?: (p: unknown) => void;
  /** what the request is, for its timeout error, e.g. 'step' */
  what?: string;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: EngineFailure) => void;
  onProgress?: (p: unknown) => void;
  timer?: NodeJS.Timeout;
}

export class WorkerHost<Req> {
  private worker: Worker | null = null;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private deaths = 0;
  private retryAt = 0;
  private respawnTimer: NodeJS.Timeout | null = null;
  private disposed = false;
  private readonly moduleUrl: string;
  private readonly log: Logger;
  /** increments on every start: a session opened on one generation is lost when it changes */
  generation = 0;

  constructor(private readonly opts: WorkerHostOptions) {
    const m = opts.module;
    this.moduleUrl = m instanceof URL ? m.href : m.startsWith('file:') ? m : pathToFileURL(m).href;
    this.log = opts.log ?? silentLogger;
    if (!opts.lazy) this.spawn();
  }

  private get name(): string {
    return this.opts.name ?? 'worker';
  }

  /** a worker is running (not dead, not waiting out a backoff) */
  get alive(): boolean {
    return this.worker !== null;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  private spawn(): Worker {
    const boot: WorkerBoot = { module: this.moduleUrl, level: this.log.level };
    const w = new Worker(BOOTSTRAP, { workerData: boot });
    this.worker = w;
    this.generation++;
    if (this.opts.keepAlive && this.opts.keepAlive !== 'always') w.unref();
    w.on('message', (msg: WorkerMessage) => this.receive(msg));
    w.on('error', (err) => this.die(w, `worker error: ${err.message}`));
    w.on('exit', (code) => this.die(w, `worker exited with code ${code}`));
    this.opts.onSpawn?.(this as WorkerHost<never>);
    return w;
  }

  private receive(msg: WorkerMessage) {
    if ('log' in msg) return this.relayLog(msg.log);
    const p = this.pending.get(msg.id);
    if (!p) return;
    if ('progress' in msg) return p.onProgress?.(msg.progress);
    this.pending.delete(msg.id);
    clearTimeout(p.timer);
    if (this.pending.size === 0 && this.opts.keepAlive === 'while-pending') this.worker?.unref();
    if (msg.ok) {
      this.deaths = 0;
      p.resolve(msg.value);
    } else {
      p.reject(new EngineFailure(msg.error.kind, msg.error.message));
    }
  }

  /** A worker's pino record, written through this thread's logger (which adds its own bindings). */
  private relayLog(line: string) {
    try {
      const { level, msg, ...fields } = JSON.parse(line) as { level: number; msg?: string } & Record<string, unknown>;
      const label = (pino.levels.labels[level] ?? 'info') as 'info';
      this.log[label](fields, msg);
    } catch {
      this.log.info(line.trim());
    }
  }

  /** Sends a request; resolves with the worker's value, rejects with an EngineFailure (its kind says why). */
  async request<T = unknown>(body: Req, options: RequestOptions = {}): Promise<T> {
    const w = await this.ready();
    return this.send<T>(w, body, options);
  }

  /**
   * The same, sent at once (no await before posting), for callers that rely on send order across calls, e.g. a
   * codec session's frames. Fails at once when no worker is running.
   */
  requestNow<T = unknown>(body: Req, options: RequestOptions = {}): Promise<T> {
    if (this.disposed) return Promise.reject(new EngineFailure('crashed', 'worker host disposed'));
    if (!this.worker && this.opts.respawn === 'on-demand' && Date.now() >= this.retryAt) this.spawn();
    if (!this.worker) return Promise.reject(new EngineFailure('crashed', `${this.name} is gone (restarting)`));
    return this.send<T>(this.worker, body, options);
  }

  private async ready(): Promise<Worker> {
    if (this.disposed) throw new EngineFailure('crashed', 'worker host disposed');
    if (this.worker) return this.worker;
    if (this.opts.respawn !== 'on-demand' && this.generation > 0) throw new EngineFailure('crashed', `${this.name} is gone (restarting)`);
    const wait = this.retryAt - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (this.disposed) throw new EngineFailure('crashed', 'worker host disposed');
    return this.worker ?? this.spawn();
  }

  private send<T>(w: Worker, body: Req, options: RequestOptions): Promise<T> {
    // the worker may have died or been disposed while request() awaited ready()
    if (this.disposed) return Promise.reject(new EngineFailure('crashed', 'worker host disposed'));
    if (this.worker !== w) return Promise.reject(new EngineFailure('crashed', `${this.name} is gone (restarting)`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const p: Pending = { resolve: resolve as (v: unknown) => void, reject, onProgress: options.onProgress };
      if (options.timeoutMs !== undefined) {
        const ms = options.timeoutMs;
        p.timer = setTimeout(() => {
          if (!this.pending.delete(id)) return;
          reject(new EngineFailure('timeout', `${this.name} did not answer ${options.what ?? 'a request'} within ${ms} ms`));
          this.die(w, `${options.what ?? 'a request'} overran ${ms} ms`);
        }, ms);
      }
      this.pending.set(id, p);
      if (this.opts.keepAlive === 'while-pending') w.ref();
      const msg: HostMessage<Req> = { id, body };
      w.postMessage(msg, options.transfer ?? []);
    });
  }

  private die(w: Worker, why: string) {
    if (this.worker !== w) return;
    this.worker = null;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new EngineFailure('crashed', `${this.name} failed: ${why}`));
    }
    this.pending.clear();
    void w.terminate();
    if (this.disposed) return;
    this.deaths++;
    const b = this.opts.backoff ?? { initialMs: 100, maxMs: 30_000 };
    const delay = Math.min(b.maxMs, b.initialMs * 2 ** (this.deaths - 1));
    this.retryAt = Date.now() + delay;
    this.log.warn({ why, respawnInMs: this.opts.respawn === 'never' ? null : delay }, 'worker died');
    this.opts.onDeath?.(why);
    if (this.opts.respawn === undefined || this.opts.respawn === 'eager') {
      this.respawnTimer = setTimeout(() => {
        this.respawnTimer = null;
        if (!this.disposed && !this.worker) this.spawn();
      }, delay);
      this.respawnTimer.unref();
    }
  }

  /** Fails what is pending and stops the worker; nothing restarts it. */
  async dispose(): Promise<void> {
    this.disposed = true;
    if (this.respawnTimer) clearTimeout(this.respawnTimer);
    const w = this.worker;
    this.worker = null;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new EngineFailure('crashed', 'worker host disposed'));
    }
    this.pending.clear();
    await w?.terminate();
  }
}
