/**
 * Runs an engine module in worker threads, so the room's event loop never blocks on inference. Sessions are
 * spread over the workers; one step fans out to every worker at once and the answers are merged. A worker
 * that fails, crashes or overruns its deadline is replaced; only its own sessions get an error.
 */
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { EngineFailure, engineError, type DuplexEngine, type OpenOptions, type Persona, type SessionId, type StepInput, type StepOutput } from '../contract.ts';
import type { EngineInfo, HostCommand, WorkerReply } from './messages.ts';

export interface WorkerPoolOptions {
  /** module (absolute path or file URL) exporting createEngine(options) */
  module: string;
  options?: unknown;
  workers?: number;
  /** a step not answered in this time fails that worker's sessions and the worker is replaced */
  stepTimeoutMs?: number;
  openTimeoutMs?: number;
  /** loading the engine in a worker (model weights can take minutes) */
  initTimeoutMs?: number;
  log?: (line: string) => void;
}

const ENTRY = new URL('./bootstrap.mjs', import.meta.url);

interface Pending {
  resolve: (r: Extract<WorkerReply, { ok: boolean }>) => void;
  onProgress?: OpenOptions['onProgress'];
}

class EngineWorker {
  private worker: Worker;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  dead = false;

  constructor(private onDeath: (w: EngineWorker, why: string) => void) {
    this.worker = new Worker(fileURLToPath(ENTRY));
    this.worker.on('message', (msg: WorkerReply) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      if ('progress' in msg) {
        p.onProgress?.(msg.progress);
        return;
      }
      this.pending.delete(msg.id);
      p.resolve(msg);
    });
    this.worker.on('error', (err) => this.die(`worker error: ${err.message}`));
    this.worker.on('exit', (code) => this.die(`worker exited with code ${code}`));
  }

  request(
    req: HostCommand,
    timeoutMs: number,
    onProgress?: OpenOptions['onProgress'],
  ): Promise<Extract<WorkerReply, { ok: boolean }>> {
    if (this.dead) return Promise.resolve({ id: 0, ok: false, error: engineError('crashed', 'engine worker is gone') });
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({ id, ok: false, error: engineError('timeout', `engine worker did not answer ${req.op} within ${timeoutMs} ms`) });
        this.die(`${req.op} overran ${timeoutMs} ms`);
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        onProgress,
      });
      const transfer =
        req.op === 'step' ? req.batch.map((s) => s.input.buffer as ArrayBuffer) : [];
      this.worker.postMessage({ ...req, id }, transfer);
    });
  }

  private die(why: string) {
    if (this.dead) return;
    this.dead = true;
    for (const [id, p] of this.pending) p.resolve({ id, ok: false, error: engineError('crashed', `engine worker failed: ${why}`) });
    this.pending.clear();
    void this.worker.terminate();
    this.onDeath(this, why);
  }

  terminate() {
    this.dead = true;
    return this.worker.terminate();
  }
}

export class WorkerPoolEngine implements DuplexEngine {
  name = 'worker-pool';
  label = '';
  capacity = 0;
  textLeadFrames = 0;

  private workers: EngineWorker[] = [];
  /** pool session id → worker slot and the worker's own session id */
  private sessions = new Map<SessionId, { slot: number; inner: SessionId; worker: EngineWorker }>();
  private nextSession = 1;
  private perWorkerCapacity = 0;
  private readonly stepTimeoutMs: number;
  private readonly openTimeoutMs: number;
  private readonly initTimeoutMs: number;
  private readonly log: (line: string) => void;
  private disposed = false;

  private constructor(private readonly opts: WorkerPoolOptions) {
    this.stepTimeoutMs = opts.stepTimeoutMs ?? 1000;
    this.openTimeoutMs = opts.openTimeoutMs ?? 120_000;
    this.initTimeoutMs = opts.initTimeoutMs ?? 120_000;
    this.log = opts.log ?? ((l) => console.warn(l));
  }

  static async start(opts: WorkerPoolOptions): Promise<WorkerPoolEngine> {
    const pool = new WorkerPoolEngine(opts);
    const n = Math.max(1, opts.workers ?? 1);
    const infos = await Promise.all(Array.from({ length: n }, (_, slot) => pool.spawn(slot)));
    const info = infos[0]!;
    pool.name = info.name;
    pool.label = info.label;
    pool.textLeadFrames = info.textLeadFrames;
    pool.perWorkerCapacity = info.capacity;
    pool.capacity = info.capacity * n;
    return pool;
  }

  private async spawn(slot: number): Promise<EngineInfo> {
    const w = new EngineWorker((dead, why) => this.onWorkerDeath(slot, dead, why));
    this.workers[slot] = w;
    const r = await w.request({ op: 'init', module: this.opts.module, options: this.opts.options }, this.initTimeoutMs);
    if (!r.ok) throw new EngineFailure(r.error.kind, `engine ${this.opts.module} failed to start: ${r.error.message}`);
    return r.info!;
  }

  private onWorkerDeath(slot: number, dead: EngineWorker, why: string) {
    if (this.disposed || this.workers[slot] !== dead) return;
    this.log(`[engine] worker ${slot} replaced: ${why}`);
    // Its sessions are lost with it; the room sees errors for them on the next step and reopens them.
    this.spawn(slot).catch((err) => this.log(`[engine] worker ${slot} could not restart: ${(err as Error).message}`));
  }

  private pickSlot(): number {
    const load = this.workers.map(() => 0);
    for (const s of this.sessions.values()) load[s.slot]++;
    let best = 0;
    for (let i = 1; i < load.length; i++) if (load[i]! < load[best]!) best = i;
    return best;
  }

  async open(persona: Persona, options?: OpenOptions): Promise<SessionId> {
    const slot = this.pickSlot();
    const worker = this.workers[slot]!;
    const r = await worker.request({ op: 'open', persona }, this.openTimeoutMs, options?.onProgress);
    if (!r.ok) throw new EngineFailure(r.error.kind, r.error.message);
    const id = this.nextSession++;
    this.sessions.set(id, { slot, inner: r.session!, worker });
    return id;
  }

  async step(batch: StepInput[]): Promise<StepOutput[]> {
    const byWorker = new Map<EngineWorker, { idx: number[]; inputs: StepInput[] }>();
    const out: StepOutput[] = new Array(batch.length);
    batch.forEach((item, idx) => {
      const s = this.sessions.get(item.session);
      if (!s || s.worker.dead || s.worker !== this.workers[s.slot]) {
        out[idx] = { session: item.session, output: new Float32Array(item.input.length), error: engineError('crashed', 'session lost with its engine worker') };
        return;
      }
      let group = byWorker.get(s.worker);
      if (!group) byWorker.set(s.worker, (group = { idx: [], inputs: [] }));
      group.idx.push(idx);
      // Copy: the input buffer is transferred to the worker.
      group.inputs.push({ session: s.inner, input: new Float32Array(item.input) });
    });
    await Promise.all(
      [...byWorker].map(async ([worker, group]) => {
        const r = await worker.request({ op: 'step', batch: group.inputs }, this.stepTimeoutMs);
        group.idx.forEach((idx, j) => {
          const session = batch[idx]!.session;
          const o = r.ok ? r.outputs?.[j] : undefined;
          out[idx] = o
            ? { ...o, session }
            : { session, output: new Float32Array(batch[idx]!.input.length), error: r.ok ? engineError('failed', 'engine returned no output') : r.error };
        });
      }),
    );
    return out;
  }

  async close(session: SessionId): Promise<void> {
    const s = this.sessions.get(session);
    this.sessions.delete(session);
    if (!s || s.worker.dead) return;
    const r = await s.worker.request({ op: 'close', session: s.inner }, this.stepTimeoutMs * 5);
    if (!r.ok) this.log(`[engine] close failed: ${r.error.message}`);
  }

  get workerCount() {
    return this.workers.length;
  }

  get capacityPerWorker() {
    return this.perWorkerCapacity;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    await Promise.all(
      this.workers.map(async (w) => {
        await w.request({ op: 'dispose' }, 2000).catch(() => undefined);
        await w.terminate();
      }),
    );
    this.sessions.clear();
  }
}
