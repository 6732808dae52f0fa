/**
 * What the game server adds for scale-out and operations, in one place so server/app.ts only calls it: the
 * Colyseus options of cluster mode (Redis presence and driver, public address, room placement by free seats),
 * the janitor that unlists a dead process's rooms, /healthz and /readyz, the prom-client figures, and the drain
 * that runs before Colyseus shuts down. Without a cluster link only the health routes, metrics and drain apply.
 */
import os from 'node:os';
import type express from 'express';
import { matchMaker, type ServerOptions } from '@colyseus/core';
import type { DuplexEngine } from '../engines/contract.ts';
import type { Logger } from '../log.ts';
import type { ParleyMetrics } from '../metrics/parley-metrics.ts';
import { createProcessMetrics, type ProcessMetrics } from '../metrics/process-metrics.ts';
import type { ClusterLink } from './cluster.ts';
import { drain, DrainGate } from './drain.ts';
import { SeatBoard } from './seat-board.ts';

export interface WiringOptions {
  cluster?: ClusterLink;
  engine: DuplexEngine;
  metrics: ParleyMetrics;
  log: Logger;
  /** how long a drain lets NPC turns finish (default 10 s) */
  drainMs?: number;
  /** the `process` label on every prom-client series (default host-pid) */
  processName?: string;
  /** how often the janitor looks for dead processes (default 1 s) */
  janitorMs?: number;
  /** the gate in front of the conductor's engine, closed when the drain starts */
  gate?: DrainGate;
}

interface ServerView {
  status(): { state: string; capacity: number }[];
  seatsLeased(): Promise<Map<string, number>>;
}

export class ClusterWiring {
  readonly process: ProcessMetrics;
  readonly board: SeatBoard | undefined;
  draining = false;
  private janitor: NodeJS.Timeout | null = null;
  private readonly log: Logger;

  constructor(private readonly o: WiringOptions) {
    this.log = o.log.child({ part: 'cluster' });
    this.process = createProcessMetrics(o.processName ?? `${os.hostname()}-${process.pid}`, o.engine, o.metrics.registry.prom);
    if (o.cluster) {
      this.board = new SeatBoard({ redis: o.cluster.redis, processId: () => matchMaker.processId, free: () => this.freeSeats(), log: this.log });
    }
  }

  /** Colyseus server options of cluster mode (none without a cluster). */
  serverOptions(): Pick<ServerOptions, 'presence' | 'driver' | 'publicAddress' | 'selectProcessIdToCreateRoom'> {
    const c = this.o.cluster;
    if (!c) return {};
    return {
      presence: c.presence,
      driver: c.driver,
      ...(c.publicAddress ? { publicAddress: c.publicAddress } : {}),
      selectProcessIdToCreateRoom: async () => this.board!.choose(await matchMaker.stats.fetchAll(), matchMaker.processId),
    };
  }

  /**
   * Free model seats here: for shared PersonaPlex servers, seats no process leases; otherwise the engine's
   * capacity less the sessions this process has open.
   */
  async freeSeats(): Promise<number> {
    const e = this.o.engine as Partial<ServerView>;
    if (typeof e.seatsLeased === 'function' && typeof e.status === 'function') {
      const leased = [...(await e.seatsLeased()).values()].reduce((a, b) => a + b, 0);
      const usable = e.status().filter((s) => s.state === 'up').reduce((a, s) => a + s.capacity, 0);
      return Math.max(0, usable - leased);
    }
    return Math.max(0, this.o.engine.capacity - this.o.metrics.sessions.get());
  }

  routes(app: express.Application) {
    app.get('/healthz', (_req, res) => {
      res.json({ ok: true });
    });
    app.get('/readyz', async (_req, res) => {
      const why = await this.notReady();
      res.status(why.length ? 503 : 200).json({ ready: why.length === 0, ...(why.length ? { why } : {}) });
    });
  }

  /** Reasons this process should not get rooms now (empty when ready). */
  async notReady(): Promise<string[]> {
    const why: string[] = [];
    if (this.draining) why.push('draining');
    if (matchMaker.state !== matchMaker.MatchMakerState.READY) why.push('matchmaker not ready');
    const e = this.o.engine as Partial<ServerView>;
    if (typeof e.status === 'function' && !e.status().some((s) => s.state === 'up')) why.push('no model server up');
    if (this.o.cluster && !(await this.o.cluster.reachable())) why.push('redis unreachable');
    return why;
  }

  async metricsText(): Promise<string> {
    return this.process.render();
  }

  /** After listen: publish free seats, and sweep dead processes' room listings every second. */
  started() {
    if (!this.o.cluster) return;
    this.board!.start();
    this.janitor = setInterval(() => {
      if (matchMaker.state !== matchMaker.MatchMakerState.READY) return;
      // a process whose IPC channel is gone (killed) fails its health check and its rooms are unlisted
      matchMaker.healthCheckAllProcesses().catch((err) => this.log.warn({ err: String(err) }, 'health check of other processes failed'));
    }, this.o.janitorMs ?? 1_000);
    this.janitor.unref();
  }

  /** Colyseus's before-shutdown hook: drain, then let Colyseus dispose the rooms. */
  async beforeShutdown() {
    this.draining = true;
    if (this.o.gate) this.o.gate.closed = true;
    if (this.janitor) clearInterval(this.janitor);
    await drain({
      board: this.board,
      speaking: () => this.o.metrics.npcs.get({ status: 'speaking' }),
      maxMs: this.o.drainMs ?? 10_000,
      log: this.log,
    }).catch((err) => this.log.warn({ err: String(err) }, 'drain failed; shutting down anyway'));
  }

  /** After the rooms and the engine stopped. */
  async stopped() {
    await this.board?.stop();
    await this.o.cluster?.close();
  }
}
