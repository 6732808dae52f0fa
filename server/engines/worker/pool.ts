/**
 * Runs an engine module in worker threads, so the room's event loop never blocks on inference. Sessions are
 * spread over the workers; one step fans out to every worker at once and the answers are merged. A worker that
 * fails, crashes or overruns its deadline is replaced (WorkerHost, with backoff); only its own sessions get an
 * error.
 */
import { silentLogger, type Logger } from '../../log.ts';
import { EngineFailure, engineError, toEngineError, type DuplexEngine, type OpenOptions, type OpenProgress, type Persona, type SessionId, type StepInput, type StepOutput } from '../contract.ts';
import type { EngineInfo, EngineRequest } from './engine-worker.ts';
import { WorkerHost } from './host.ts';

export interface WorkerPoolOptions {
  /** module (absolute path or file URL) exporting createEngine(options, log) */
  module: string;
  /** plain data (it is cloned into each worker) */
  options?: unknown;
  workers?: number;
  /** a step not answered in this time fails that worker's sessions and the worker is replaced */
  stepTimeoutMs?: number;
  openTimeoutMs?: number;
  /** loading the engine in a worker (model weights can take minutes) */
  initTimeoutMs?: number;
  /**
   * With several workers, a step returns this long after it began once every other worker has answered: a worker
   * still busy then (hung, or far slower) gives its sessions a silent frame this tick and is skipped until it
   * answers, so it delays only its own sessions. Default 2 frames (160 ms).
   */
  stragglerMs?: number;
  log?: Logger;
}

const ENGINE_WORKER = new URL('./engine-worker.ts', import.meta.url);

interface Slot {
  host: WorkerHost<EngineRequest>;
  /** resolves when this generation's init has answered */
  init: Promise<EngineInfo>;
}

export class WorkerPoolEngine implements DuplexEngine {
  name = 'worker-pool';
  label = '';
  capacity = 0;
  textLeadFrames = 0;

  private slots: Slot[] = [];
  /** pool session id → worker slot, the worker generation it lives in, and the worker's own session id */
  private sessions = new Map<SessionId, { slot: number; generation: number; inner: SessionId }>();
  private nextSession = 1;
  private perWorkerCapacity = 0;
  private readonly stepTimeoutMs: number;
  private readonly openTimeoutMs: number;
  private readonly initTimeoutMs: number;
  private readonly stragglerMs: number;
  /** workers whose last step has not answered yet */
  private busy = new Set<number>();
  /** sessions whose step failed after the step went on without their worker: told at their next step */
  private lateFailures = new Map<SessionId, ReturnType<typeof toEngineError>>();
  private readonly log: Logger;
  private disposed = false;

  private constructor(private readonly opts: WorkerPoolOptions) {
    this.stepTimeoutMs = opts.stepTimeoutMs ?? 1000;
    this.openTimeoutMs = opts.openTimeoutMs ?? 120_000;
    this.initTimeoutMs = opts.initTimeoutMs ?? 120_000;
    this.stragglerMs = opts.stragglerMs ?? 160;
    this.log = opts.log ?? silentLogger;
  }

  static async start(opts: WorkerPoolOptions): Promise<WorkerPoolEngine> {
    const pool = new WorkerPoolEngine(opts);
    const n = Math.max(1, opts.workers ?? 1);
    for (let i = 0; i < n; i++) pool.slots.push(pool.makeSlot(i));
    let infos: EngineInfo[];
    try {
      infos = await Promise.all(pool.slots.map((s) => s.init));
    } catch (err) {
      await pool.dispose();
      const e = toEngineError(err);
      throw new EngineFailure(e.kind, `engine ${opts.module} failed to start: ${e.message}`);
    }
    const info = infos[0]!;
    pool.name = info.name;
    pool.label = info.label;
    pool.textLeadFrames = info.textLeadFrames;
    pool.perWorkerCapacity = info.capacity;
    pool.capacity = info.capacity * n;
    return pool;
  }

  private makeSlot(index: number): Slot {
    const log = this.log.child({ worker: index });
    const slot = { init: Promise.resolve({} as EngineInfo) } as Slot;
    slot.host = new WorkerHost<EngineRequest>({
      module: ENGINE_WORKER,
      name: 'engine worker',
      log,
      respawn: 'eager',
      backoff: { initialMs: 100, maxMs: 30_000 },
      // init is the first request of every generation; requests run in order, so later ones wait behind it
      onSpawn: (host) => {
        slot.init = (host as WorkerHost<EngineRequest>).requestNow<EngineInfo>(
          { op: 'init', module: this.opts.module, options: this.opts.options },
          { timeoutMs: this.initTimeoutMs, what: 'init' },
        );
        if (host.generation > 1) {
          slot.init.then(
            () => log.info('worker replaced'),
            (err) => log.error({ err: toEngineError(err) }, 'worker could not restart'),
          );
        }
      },
      // its sessions are lost with it; the room sees errors for them on the next step and reopens them
      onDeath: (why) => log.warn({ why }, 'worker replaced'),
    });
    return slot;
  }

  private pickSlot(): number {
    const load = this.slots.map(() => 0);
    for (const s of this.sessions.values()) load[s.slot]!++;
    let best = 0;
    for (let i = 1; i < load.length; i++) if (load[i]! < load[best]!) best = i;
    return best;
  }

  async open(persona: Persona, options?: OpenOptions): Promise<SessionId> {
    const index = this.pickSlot();
    const { host } = this.slots[index]!;
    const generation = host.generation;
    const inner = await host.request<SessionId>(
      { op: 'open', persona },
      { timeoutMs: this.openTimeoutMs, what: 'open', onProgress: (p) => options?.onProgress?.(p as OpenProgress) },
    );
    if (host.generation !== generation) throw new EngineFailure('crashed', 'engine worker restarted during open');
    const id = this.nextSession++;
    this.sessions.set(id, { slot: index, generation, inner });
    return id;
  }

  async step(batch: StepInput[]): Promise<StepOutput[]> {
    const bySlot = new Map<number, { idx: number[]; inputs: StepInput[] }>();
    const out: StepOutput[] = new Array(batch.length);
    batch.forEach((item, idx) => {
      const late = this.lateFailures.get(item.session);
      if (late) {
        this.lateFailures.delete(item.session);
        out[idx] = { session: item.session, output: new Float32Array(item.input.length), error: late };
        return;
      }
      const s = this.sessions.get(item.session);
      const host = s && this.slots[s.slot]!.host;
      if (!s || !host!.alive || host!.generation !== s.generation) {
        out[idx] = { session: item.session, output: new Float32Array(item.input.length), error: engineError('crashed', 'session lost with its engine worker') };
        return;
      }
      let group = bySlot.get(s.slot);
      if (!group) bySlot.set(s.slot, (group = { idx: [], inputs: [] }));
      group.idx.push(idx);
      // Copy: the input buffer is transferred to the worker.
      group.inputs.push({ session: s.inner, input: new Float32Array(item.input), ...(item.floorElsewhere ? { floorElsewhere: true } : {}) });
    });
    const skip = (idx: number[]) => {
      // a worker still busy with an earlier step: this tick its sessions get silence (not an error; it may recover)
      for (const i of idx) out[i] = { session: batch[i]!.session, output: new Float32Array(batch[i]!.input.length) };
    };
    const pending = new Map<number, number[]>();
    const answers = [...bySlot].map(async ([slot, group]) => {
      if (this.busy.has(slot)) return skip(group.idx);
      this.busy.add(slot);
      pending.set(slot, group.idx);
      let outputs: StepOutput[] | undefined;
      let error = engineError('failed', 'engine returned no output');
      try {
        outputs = await this.slots[slot]!.host.request<StepOutput[]>(
          { op: 'step', batch: group.inputs },
          { timeoutMs: this.stepTimeoutMs, what: 'step', transfer: group.inputs.map((s) => s.input.buffer as ArrayBuffer) },
        );
      } catch (err) {
        error = toEngineError(err);
      } finally {
        this.busy.delete(slot);
      }
      if (!pending.delete(slot)) {
        // answered after the step went on without it: a failure is told at those sessions' next step
        if (!outputs) for (const idx of group.idx) this.lateFailures.set(batch[idx]!.session, error);
        return;
      }
      group.idx.forEach((idx, j) => {
        const session = batch[idx]!.session;
        const o = outputs?.[j];
        out[idx] = o ? { ...o, session } : { session, output: new Float32Array(batch[idx]!.input.length), error };
      });
    });
    const all = Promise.all(answers);
    if (bySlot.size > 1) {
      // wait for everyone, but once some worker answered, no longer than the grace
      const started = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const cut = new Promise<void>((resolve) => {
        const check = () => {
          // some worker answered (or was skipped) and the grace is over: the rest are stragglers
          if (pending.size < bySlot.size && Date.now() - started >= this.stragglerMs) return resolve();
          timer = setTimeout(check, Math.max(5, this.stragglerMs - (Date.now() - started)));
        };
        timer = setTimeout(check, this.stragglerMs);
      });
      await Promise.race([all, cut]);
      clearTimeout(timer);
      for (const [slot, idx] of pending) {
        pending.delete(slot);
        skip(idx);
        this.log.warn({ worker: slot }, 'worker slower than the step; its sessions get silence until it answers');
      }
    } else {
      await all;
    }
    return out;
  }

  async close(session: SessionId): Promise<void> {
    this.lateFailures.delete(session);
    const s = this.sessions.get(session);
    this.sessions.delete(session);
    if (!s) return;
    const host = this.slots[s.slot]!.host;
    if (!host.alive || host.generation !== s.generation) return;
    await host.request({ op: 'close', session: s.inner }, { timeoutMs: this.stepTimeoutMs * 5, what: 'close' }).catch((err) => {
      this.log.warn({ err: toEngineError(err), worker: s.slot }, 'close failed');
    });
  }

  get workerCount() {
    return this.slots.length;
  }

  get capacityPerWorker() {
    return this.perWorkerCapacity;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.all(
      this.slots.map(async ({ host }) => {
        if (host.alive) await host.request({ op: 'dispose' }, { timeoutMs: 2000 }).catch(() => undefined);
        await host.dispose();
      }),
    );
    this.sessions.clear();
  }
}
