/**
 * The PersonaPlex servers Parley may use, each with its own capacity (the official server holds one
 * conversation at a time; a batched server many). Health checks run in the background: a server that stops
 * answering is declared down, its sessions are failed (the room reopens them elsewhere), and it is probed again
 * with exponential backoff. A server whose conversations fail to start (no handshake, refused) is benched the
 * same way. Managed servers are started, watched and restarted here.
 */
import { silentLogger, type Logger } from '../../log.ts';
import type { EngineErrorKind, OpenProgress } from '../contract.ts';
import { probe } from './health.ts';
import { validateHostConfig, type PersonaPlexHostConfig } from './config.ts';
import { ManagedProcess, type ManagedCommand } from './managed-server.ts';

export type ServerState = 'up' | 'down' | 'starting';

export interface ServerStatus {
  url: string;
  state: ServerState;
  capacity: number;
  active: number;
  reason?: string;
  loading?: OpenProgress;
  pid?: number;
  /** benched after failed conversations (down until `notBefore`), as opposed to failing health checks */
  benched: boolean;
  /** conversations that failed to start or stalled, and times the server was found down, since start */
  errors: number;
}

export interface PoolTiming {
  healthIntervalMs: number;
  healthTimeoutMs: number;
  /** consecutive failed probes before an up server is declared down */
  failuresToDown: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** a managed server not answering this long after start is killed and restarted */
  managedStartTimeoutMs: number;
  /** a managed server that was up and stops answering this long is killed and restarted */
  managedHungMs: number;
}

export const DEFAULT_TIMING: PoolTiming = {
  healthIntervalMs: 2_000,
  healthTimeoutMs: 2_000,
  failuresToDown: 2,
  backoffBaseMs: 1_000,
  backoffMaxMs: 30_000,
  managedStartTimeoutMs: 30 * 60_000, // a first start downloads ~17 GB of weights
  managedHungMs: 30_000,
};

/** Something on a server that must hear when the server goes down. */
export interface ServerTenant {
  fail(kind: EngineErrorKind, message: string): void;
}

export class PooledServer {
  readonly httpBase: URL;
  readonly chatUrl: URL;
  state: ServerState;
  reason = '';
  active = 0;
  readonly tenants = new Set<ServerTenant>();
  /** consecutive failed probes */
  probeFailures = 0;
  /** consecutive conversations that failed to start or stalled; cleared by a good handshake */
  strikes = 0;
  /** strikes and outages since start (a metric) */
  errors = 0;
  /** not used for new sessions before this time */
  notBefore = 0;
  lastHealthy = 0;
  upSince = 0;
  process: ManagedProcess | null = null;
  startedAt = 0;
  restarts = 0;
  restartPending = false;
  timer: NodeJS.Timeout | null = null;

  constructor(readonly config: PersonaPlexHostConfig) {
    const u = new URL(config.url);
    const secure = u.protocol === 'https:' || u.protocol === 'wss:';
    this.httpBase = new URL(`${secure ? 'https' : 'http'}://${u.host}/`);
    this.chatUrl = new URL(`${secure ? 'wss' : 'ws'}://${u.host}${u.pathname === '/' || u.pathname === '' ? '/api/chat' : u.pathname}`);
    this.state = config.managed ? 'starting' : 'down';
    this.reason = config.managed ? 'not started yet' : 'not checked yet';
  }

  get capacity() {
    return this.config.capacity;
  }
}

export class ServerPool {
  readonly servers: PooledServer[];
  private readonly t: PoolTiming;
  private listeners = new Set<() => void>();
  private disposed = false;

  constructor(
    configs: PersonaPlexHostConfig[],
    timing: Partial<PoolTiming> = {},
    private readonly log: Logger = silentLogger,
  ) {
    if (!Array.isArray(configs) || configs.length === 0) throw new Error('personaplex-server needs at least one server { url, capacity }');
    this.servers = configs.map((c, i) => new PooledServer(validateHostConfig(c, i)));
    const urls = this.servers.map((s) => s.chatUrl.href);
    const dup = urls.find((u, i) => urls.indexOf(u) !== i);
    if (dup) throw new Error(`server ${dup} is listed twice`);
    this.t = { ...DEFAULT_TIMING, ...timing };
  }

  get capacity(): number {
    return this.servers.reduce((n, s) => n + s.capacity, 0);
  }

  /** Starts managed servers and runs a first probe of every server. */
  async start(): Promise<void> {
    for (const s of this.servers) if (s.config.managed) this.spawn(s);
    await Promise.all(this.servers.map((s) => this.check(s)));
  }

  private backoff(n: number): number {
    return Math.min(this.t.backoffMaxMs, this.t.backoffBaseMs * 2 ** Math.max(0, n - 1));
  }

  private changed() {
    for (const fn of [...this.listeners]) fn();
  }

  /** Resolves at the next change of any server's state or load, or after `ms`. */
  waitForChange(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.listeners.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** The least loaded server that is up and has a free slot (and is not in `skip`), or null. */
  pick(skip?: ReadonlySet<PooledServer>): PooledServer | null {
    const now = Date.now();
    let best: PooledServer | null = null;
    for (const s of this.servers) {
      if (s.state !== 'up' || s.active >= s.capacity || now < s.notBefore || skip?.has(s)) continue;
      if (!best || s.active / s.capacity < best.active / best.capacity) best = s;
    }
    return best;
  }

  /** A managed server that is loading or about to restart and would have room once up; opens may wait for it. */
  loading(): PooledServer | null {
    return this.servers.find((s) => (s.state === 'starting' || s.restartPending) && s.active < s.capacity) ?? null;
  }

  reserve(s: PooledServer) {
    s.active++;
    this.changed();
  }

  release(s: PooledServer) {
    s.active = Math.max(0, s.active - 1);
    this.changed();
  }

  /** A conversation started fine: the server's strikes are forgiven. */
  succeeded(s: PooledServer) {
    s.strikes = 0;
  }

  /**
   * A conversation could not start (refused, no handshake) or stalled: bench the server for a growing backoff
   * so new sessions go elsewhere. Its other sessions carry on; each notices its own trouble.
   */
  strike(s: PooledServer, reason: string) {
    s.strikes++;
    s.errors++;
    const wait = this.backoff(s.strikes);
    s.notBefore = Date.now() + wait;
    if (s.state === 'up') {
      s.state = 'down';
      s.reason = reason;
      this.log.warn({ host: s.httpBase.host, benchedMs: wait, reason }, 'server benched');
      this.changed();
    }
  }

  private markDown(s: PooledServer, reason: string) {
    const was = s.state;
    s.state = 'down';
    s.reason = reason;
    if (was !== 'down') {
      s.errors++;
      this.log.warn({ host: s.httpBase.host, reason }, 'server is down');
    }
    for (const t of [...s.tenants]) t.fail('crashed', `PersonaPlex server ${s.httpBase.host} is down: ${reason}`);
    this.changed();
  }

  private schedule(s: PooledServer, ms: number) {
    if (this.disposed) return;
    if (s.timer) clearTimeout(s.timer);
    s.timer = setTimeout(() => void this.check(s), ms);
    s.timer.unref();
  }

  private async check(s: PooledServer): Promise<void> {
    if (this.disposed) return;
    const r = await probe(s.httpBase, this.t.healthTimeoutMs, s.config.insecureTls);
    if (this.disposed) return;
    const now = Date.now();
    if (r.ok) {
      s.probeFailures = 0;
      s.lastHealthy = now;
      if (s.state === 'starting' || (s.state === 'down' && now >= s.notBefore && !(s.process?.exited ?? false))) {
        this.log.info({ host: s.httpBase.host, capacity: s.capacity }, 'server is up');
        s.state = 'up';
        s.reason = '';
        s.upSince = now;
        this.changed();
      }
      if (s.process && s.state === 'up' && now - s.upSince > 60_000) s.restarts = 0;
      this.schedule(s, s.state === 'up' ? this.t.healthIntervalMs : Math.max(200, s.notBefore - now));
      return;
    }
    s.probeFailures++;
    if (s.state === 'up' && s.probeFailures >= this.t.failuresToDown) {
      this.markDown(s, `health check failed ${s.probeFailures}× (${r.reason})`);
    }
    if (s.process && !s.process.exited) {
      const stuck = s.state === 'starting' ? now - s.startedAt > this.t.managedStartTimeoutMs : now - s.lastHealthy > this.t.managedHungMs;
      if (stuck) {
        this.log.warn({ host: s.httpBase.host }, 'managed server not answering; killing it for a restart');
        s.process.kill();
      }
    }
    if (s.state === 'down' && s.reason.startsWith('not checked')) s.reason = r.reason;
    const next = s.state === 'starting' ? 500 : s.state === 'up' ? this.t.healthIntervalMs : this.backoff(Math.max(1, s.probeFailures - this.t.failuresToDown + 1));
    this.schedule(s, next);
  }

  private spawn(s: PooledServer) {
    if (this.disposed) return;
    const cmd = s.config.managed!;
    s.state = 'starting';
    s.restartPending = false;
    s.reason = 'loading';
    s.startedAt = Date.now();
    s.lastHealthy = s.startedAt;
    const host = s.httpBase.host;
    this.log.info({ host, command: [cmd.command, ...(cmd.args ?? [])].join(' ') }, 'starting managed server');
    const proc = new ManagedProcess(cmd, {
      log: (line) => this.log.info({ host, managed: true }, line),
      progress: () => this.changed(),
      exit: (reason) => {
        if (this.disposed || s.process !== proc) return;
        s.restarts++;
        s.restartPending = true;
        const wait = this.backoff(s.restarts);
        this.markDown(s, reason);
        this.log.warn({ host, restartInMs: wait }, 'managed server exited; restarting');
        setTimeout(() => this.spawn(s), wait).unref();
      },
    });
    s.process = proc;
    this.schedule(s, 500);
    this.changed();
  }

  status(): ServerStatus[] {
    return this.servers.map((s) => ({
      url: s.chatUrl.href,
      state: s.state,
      capacity: s.capacity,
      active: s.active,
      ...(s.reason ? { reason: s.reason } : {}),
      ...(s.state === 'starting' && s.process ? { loading: s.process.progress } : {}),
      ...(s.process?.pid !== undefined && !s.process.exited ? { pid: s.process.pid } : {}),
      benched: s.state === 'down' && s.strikes > 0 && Date.now() < s.notBefore,
      errors: s.errors,
    }));
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    for (const s of this.servers) if (s.timer) clearTimeout(s.timer);
    this.changed();
    await Promise.all(this.servers.map((s) => s.process?.stop()));
  }
}
