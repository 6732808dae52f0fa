/**
 * The Parley game server: Colyseus rooms over WebSocket, the engine conductor, /metrics, and the built plugin
 * and sample game as static files, all on one HTTP port.
 */
import path from 'node:path';
import { format } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { defineRoom, defineServer, type Server } from '@colyseus/core';
import { WebSocketTransport } from '@colyseus/ws-transport';
import { MAX_CLIENT_MESSAGE_BYTES } from '../protocol/envelope.ts';
import type { DuplexEngine } from './engines/contract.ts';
import { createLogger, type Logger } from './log.ts';
import { createParleyMetrics, type ParleyMetrics } from './metrics/parley-metrics.ts';
import { Conductor } from './sessions/conductor.ts';
import type { NpcDirectory } from './room/npc-directory.ts';
import { ParleyRoom, type ParleyRoomConfig, type RoomServices } from './room/parley-room.ts';
import { ClusterWiring } from './cluster/wiring.ts';
import type { ClusterLink } from './cluster/cluster.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Largest WebSocket message a player may send: any legal Parley message plus Colyseus framing, nothing far beyond. */
export const MAX_PAYLOAD_BYTES = MAX_CLIENT_MESSAGE_BYTES + 512;

export interface ParleyServerOptions {
  engine: DuplexEngine;
  npcs: NpcDirectory;
  /** room name → its configuration (NPC layout) */
  rooms: Record<string, ParleyRoomConfig>;
  visemes?: RoomServices['visemes'];
  idleTimeoutMs?: number;
  /** first delay before reopening a failed session (doubles per failure) */
  retryMs?: number;
  /** serve dist/ and sample-game/ (default true) */
  serveStatic?: boolean;
  /** called after every tick with its lateness and (when it stepped the engine) its duration, in ms; for benchmarks */
  observeTick?: (lateMs: number, durationMs: number | null) => void;
  /** let Colyseus install SIGINT/SIGTERM handlers that shut down cleanly (default true) */
  handleSignals?: boolean;
  /** the root logger (default: `createLogger()`); rooms log through `child({ room })`, NPC streams `child({ npc })` */
  log?: Logger;
  /** cluster mode: Redis presence, driver and seat leases (server/cluster/cluster.ts); absent, one process */
  cluster?: ClusterLink;
  /** how long shutdown lets NPC turns finish before moving players (default 10 s) */
  drainMs?: number;
  /** the `process` label of the prom-client figures (default host-pid) */
  processName?: string;
}

export interface ParleyServer {
  colyseus: Server;
  metrics: ParleyMetrics;
  /** cluster mode, health, process metrics and drain */
  wiring: ClusterWiring;
  conductor: Conductor;
  listen(port: number, host?: string): Promise<number>;
  /** run `fn` during shutdown, after the rooms and the engine stopped */
  onShutdown(fn: () => void | Promise<void>): void;
  shutdown(): Promise<void>;
}

export function createParleyServer(opts: ParleyServerOptions): ParleyServer {
  const log = opts.log ?? createLogger();
  const metrics = createParleyMetrics();
  const conductor = new Conductor({
    engine: opts.engine, metrics, idleTimeoutMs: opts.idleTimeoutMs, retryMs: opts.retryMs, observeTick: opts.observeTick, log: log.child({ part: 'conductor' }),
  });
  const services: RoomServices = { conductor, metrics, npcs: opts.npcs, visemes: opts.visemes, log };
  const rooms = Object.fromEntries(
    Object.entries(opts.rooms).map(([name, config]) => [name, defineRoom(ParleyRoom.withServices(services, config))]),
  );
  const transport = new WebSocketTransport({ maxPayload: MAX_PAYLOAD_BYTES });
  const wiring = new ClusterWiring({ cluster: opts.cluster, engine: opts.engine, metrics, log, drainMs: opts.drainMs, processName: opts.processName });
  const colyseus = defineServer({
    ...wiring.serverOptions(),
    rooms,
    transport,
    greet: false,
    logger: colyseusLogger(log.child({ part: 'colyseus' })),
    gracefullyShutdown: opts.handleSignals ?? true,
    express: (app) => {
      app.get('/metrics', async (_req, res) => {
        res.type('text/plain; version=0.0.4').send(metrics.registry.render() + (await wiring.metricsText()));
      });
      wiring.routes(app);
      if (opts.serveStatic ?? true) {
        app.use('/dist', express.static(path.join(ROOT, 'dist')));
        app.use('/', express.static(path.join(ROOT, 'sample-game', 'public')));
      }
    },
  });
  const hooks: (() => void | Promise<void>)[] = [];
  // Colyseus keeps a single shutdown callback: everything that must stop hangs off this one.
  colyseus.onShutdown(async () => {
    log.info('shutting down');
    await conductor.shutdown();
    for (const hook of hooks) await hook();
    await wiring.stopped();
    log.info('stopped cleanly');
  });
  colyseus.onBeforeShutdown(() => wiring.beforeShutdown());

  return {
    colyseus,
    metrics,
    wiring,
    conductor,
    async listen(port: number, host?: string) {
      await colyseus.listen(port, host);
      wiring.started();
      return (transport.server!.address() as AddressInfo).port;
    },
    onShutdown(fn) {
      hooks.push(fn);
    },
    async shutdown() {
      await colyseus.gracefullyShutdown(false);
    },
  };
}

/** Colyseus logs console-style (`warn('text', value, ...)`); its lines go through ours, at the same levels. */
function colyseusLogger(log: Logger) {
  const at = (level: 'debug' | 'info' | 'warn' | 'error' | 'trace') => (...args: unknown[]) => log[level](format(...args));
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), trace: at('trace') };
}
