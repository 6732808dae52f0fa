/**
 * The Parley game server: Colyseus rooms over WebSocket, the engine conductor, /metrics, and the built plugin
 * and sample game as static files, all on one HTTP port.
 */
import path from 'node:path';
import { format } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { defineRoom, defineServer, matchMaker, type Server } from '@colyseus/core';
import { WebSocketTransport } from '@colyseus/ws-transport';
import { MAX_CLIENT_MESSAGE_BYTES } from '../protocol/envelope.ts';
import type { DuplexEngine } from './engines/contract.ts';
import { createLogger, type Logger } from './log.ts';
import { createParleyMetrics, type ParleyMetrics } from './metrics/parley-metrics.ts';
import { Conductor } from './sessions/conductor.ts';
import type { NpcDirectory } from './room/npc-directory.ts';
import { ParleyRoom, type ParleyRoomConfig, type RoomServices } from './room/parley-room.ts';
import { ClusterWiring } from './cluster/wiring.ts';
import { EchoGateSlots } from './voice/echo-gate-slots.ts';
import { DrainGate } from './cluster/drain.ts';
import type { ClusterLink } from './cluster/cluster.ts';
import { guardHttpServer, isLoopback, originAllowed, type HttpGuardOptions } from './guard/http-guard.ts';
import { LogLimiter } from './guard/log-limiter.ts';
import { devVerifier, JoinGuard, type JoinLimits, type JoinVerifier } from './room/join-guard.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Largest WebSocket message a player may send: any legal Parley message plus Colyseus framing, nothing far beyond. */
export const MAX_PAYLOAD_BYTES = MAX_CLIENT_MESSAGE_BYTES + 512;

export interface ParleyServerOptions {
  engine: DuplexEngine;
  npcs: NpcDirectory;
  /** room name → its configuration (NPC layout) */
  rooms: Record<string, ParleyRoomConfig>;
  visemes?: RoomServices['visemes'];
  /** an NPC finished speaking for a player, with the words that player heard (docs/scenes.md) */
  onHeard?: RoomServices['onHeard'];
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
  /**
   * Most echo gates running a canceller at once in this process (server/voice/echo-gate-slots.ts; default 8): by default
   * every client that does not cancel its own echo gets one, at about 1 ms of CPU per frame while it is sent NPC
   * voice, so a cap keeps many such clients (or hostile ones) from taking the server's real time.
   */
  echoGateMax?: number;
  /** the `process` label of the prom-client figures (default host-pid) */
  processName?: string;
  /** who may join: token → identity (default: `devVerifier`, anyone, identity = address); see docs/security.md */
  verifier?: JoinVerifier;
  /** join, seat and room limits (defaults in JoinGuard); `exemptLoopback` (default: with the dev verifier) skips them for 127.0.0.1 */
  joinLimits?: JoinLimits & { exemptLoopback?: boolean; roomsPerScene?: number };
  /** browser origins, body limit, /metrics token, proxy trust (server/guard/http-guard.ts) */
  http?: HttpGuardOptions;
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
  // a drain stops new sessions; those under way keep stepping
  const gate = new DrainGate();
  const conductor = new Conductor({
    engine: gate.wrap(opts.engine), metrics, idleTimeoutMs: opts.idleTimeoutMs, retryMs: opts.retryMs, observeTick: opts.observeTick, log: log.child({ part: 'conductor' }),
  });
  const verifier = opts.verifier ?? devVerifier;
  const exemptLoopback = opts.joinLimits?.exemptLoopback ?? verifier === devVerifier;
  const joins = new JoinGuard(verifier, opts.joinLimits);
  const echoGateSlots = new EchoGateSlots(opts.echoGateMax ?? 8, (max) =>
    log.warn({ max }, 'echo gates: all in use; a client without its own echo cancellation is not gated until one frees (PARLEY_SERVER_ECHO_GATE_MAX)'),
  );
  const services: RoomServices = {
    conductor, metrics, npcs: opts.npcs, visemes: opts.visemes, onHeard: opts.onHeard, log, joins, exempt: (ip) => exemptLoopback && isLoopback(ip), echoGateSlots,
  };
  const http = opts.http ?? {};
  exposeMatchmaking(http, opts.joinLimits?.roomsPerScene ?? 4);
  const rooms = Object.fromEntries(
    Object.entries(opts.rooms).map(([name, config]) => [name, defineRoom(ParleyRoom.withServices(services, config))]),
  );
  const transport = new WebSocketTransport({ maxPayload: MAX_PAYLOAD_BYTES });
  const wiring = new ClusterWiring({ cluster: opts.cluster, engine: opts.engine, metrics, log, drainMs: opts.drainMs, processName: opts.processName, gate });
  const colyseus = defineServer({
    ...wiring.serverOptions(),
    rooms,
    transport,
    greet: false,
    logger: colyseusLogger(log.child({ part: 'colyseus' })),
    // our own handlers: Colyseus's `process.once` lets a second signal kill the process mid-shutdown
    gracefullyShutdown: false,
    express: (app) => {
      app.disable('x-powered-by');
      app.get('/metrics', async (_req, res) => {
        // one prom-client registry: the Parley figures, the default process metrics and the model servers'
        res.type(metrics.registry.contentType).send(await wiring.metricsText());
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

  let stopping: Promise<void> | null = null;
  const shutdown = () => (stopping ??= colyseus.gracefullyShutdown(false));
  if (opts.handleSignals ?? true) handleSignals(shutdown, log);

  return {
    colyseus,
    metrics,
    wiring,
    conductor,
    async listen(port: number, host = DEFAULT_HOST) {
      await colyseus.listen(port, host);
      wiring.started();
      guardHttpServer(transport.server!, http);
      return (transport.server!.address() as AddressInfo).port;
    },
    onShutdown(fn) {
      hooks.push(fn);
    },
    async shutdown() {
      await shutdown();
    },
  };
}

/** Where a server listens when HOST is unset: this machine only (a development default; set HOST=0.0.0.0 to serve others). */
export const DEFAULT_HOST = '127.0.0.1';

/**
 * The first SIGINT/SIGTERM starts a clean shutdown and exits when it is done; later ones are logged and ignored
 * (a third after 10 s forces the exit, for a shutdown that hangs).
 */
function handleSignals(shutdown: () => Promise<void>, log: Logger) {
  let first = 0;
  const onSignal = (signal: string) => {
    if (first === 0) {
      first = Date.now();
      log.info({ signal }, 'signal: shutting down');
      void shutdown().finally(() => process.exit(0));
      return;
    }
    if (Date.now() - first > 10_000) {
      log.warn({ signal }, 'shutdown still running after 10 s; exiting now');
      process.exit(1);
    }
    log.warn({ signal }, 'already shutting down; signal ignored');
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => onSignal(signal));
}

/**
 * The matchmaker's public methods: clients join the rooms the server made from scene data (joinOrCreate makes one
 * only while a scene has fewer than `roomsPerScene` rooms, i.e. when the existing ones are full); `create` is not
 * offered. CORS answers only allowed origins, without credentials (Parley uses none).
 */
function exposeMatchmaking(http: HttpGuardOptions, roomsPerScene: number) {
  const c = matchMaker.controller;
  c.exposedMethods = ['joinOrCreate', 'join', 'joinById', 'reconnect'];
  // no credentials (Parley uses none); the origin is echoed only when allowed (others were refused in front)
  c.DEFAULT_CORS_HEADERS = { ...c.DEFAULT_CORS_HEADERS, 'Access-Control-Allow-Credentials': 'false', 'Access-Control-Allow-Origin': 'null' };
  c.getCorsHeaders = (headers: Headers): Record<string, string> => {
    const origin = headers.get('origin') ?? undefined;
    return origin && originAllowed(origin, headers.get('host') ?? undefined, http.allowedOrigins ?? []) ? { 'Access-Control-Allow-Origin': origin, Vary: 'Origin' } : {};
  };
  const invoke = c.invokeMethod.bind(c);
  c.invokeMethod = async (method: string, roomName: string, clientOptions: Record<string, unknown> = {}, auth?: unknown) => {
    if (method === 'joinOrCreate') {
      const rooms = await matchMaker.query({ name: roomName });
      if (rooms.length >= roomsPerScene) method = 'join';
    }
    return invoke(method, roomName, clientOptions, auth as never);
  };
}

/**
 * Colyseus logs console-style (`warn('text', value, ...)`); its lines go through ours, at the same levels. Clients
 * can cause many of them (bad frames, failed joins), so they are rate-limited per kind with a summary, and stack
 * traces are cut to their first lines.
 */
export function colyseusLogger(log: Logger, limiter = new LogLimiter()) {
  const at = (level: 'debug' | 'info' | 'warn' | 'error' | 'trace') => (...args: unknown[]) => {
    if (!log.isLevelEnabled(level)) return;
    const line = format(...args).split('\n').slice(0, 3).join(' | ');
    const verdict = limiter.admit(`${level} ${line}`);
    if (verdict.droppedBefore > 0) log.warn({ dropped: verdict.droppedBefore, like: line.slice(0, 120) }, 'more Colyseus lines like this were not logged');
    if (verdict.write) log[level](line);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), trace: at('trace') };
}
