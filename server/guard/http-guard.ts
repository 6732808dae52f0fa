/**
 * The HTTP front door, in front of everything the server answers (Colyseus's matchmaker, /metrics, static files,
 * WebSocket upgrades): browser origins from an allow-list, request bodies bounded before anyone reads them, the
 * client's address taken from the socket (not from headers a client can write), /metrics only for operators.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { timingSafeEqual } from 'node:crypto';

export interface HttpGuardOptions {
  /**
   * Browser origins allowed to call the server or open a WebSocket (e.g. 'https://game.example'). The server's
   * own origin (a page it served) is always allowed; requests without an Origin header (not from a browser page)
   * are allowed too: origins protect players' browsers, not the server (auth and limits do that).
   */
  allowedOrigins?: readonly string[];
  /** largest request body in bytes, every route (the matchmaker's join options are tiny) */
  maxBodyBytes?: number;
  /** bearer token for /metrics; without one, /metrics answers loopback clients only */
  metricsToken?: string;
  /** trust X-Forwarded-For / X-Real-IP (only behind a reverse proxy that sets them) */
  trustProxy?: boolean;
}

export const DEFAULT_MAX_BODY_BYTES = 16 * 1024;

/** Whether a browser page from `origin` may talk to a server reached as `host` (the Host header). */
export function originAllowed(origin: string | undefined, host: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined) return true;
  if (allowed.includes(origin) || allowed.includes('*')) return true;
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}

export function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

/**
 * The client's address for every later stage (Colyseus reads X-Real-IP first, then X-Forwarded-For): the socket's
 * unless a trusted proxy set it. Written onto the request so Colyseus's auth context carries the real one.
 */
function pinClientAddress(req: IncomingMessage, trustProxy: boolean) {
  if (trustProxy && (req.headers['x-real-ip'] || req.headers['x-forwarded-for'])) return;
  delete req.headers['x-forwarded-for'];
  delete req.headers['x-client-ip'];
  req.headers['x-real-ip'] = req.socket.remoteAddress ?? 'unknown';
}

function deny(res: ServerResponse, status: number, error: string) {
  res.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
  res.end(JSON.stringify({ error }));
}

/**
 * Put the guard in front of every 'request' and 'upgrade' listener the server has now (call after Colyseus and
 * Express bound theirs). Returns the checks for reuse (e.g. Colyseus's CORS headers).
 */
export function guardHttpServer(server: Server, opts: HttpGuardOptions = {}) {
  const allowed = opts.allowedOrigins ?? [];
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const trustProxy = opts.trustProxy ?? false;

  const requestListeners = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    res.removeHeader('x-powered-by');
    if (!originAllowed(req.headers.origin, req.headers.host, allowed)) return deny(res, 403, 'origin not allowed');
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (hasBody) {
      // A length up front, within the limit: Node's parser then never delivers more than that.
      const length = Number(req.headers['content-length']);
      if (req.headers['content-length'] === undefined || req.headers['transfer-encoding'] !== undefined) return deny(res, 411, 'a request body needs a Content-Length');
      if (!(length <= maxBody)) return deny(res, 413, `request body over ${maxBody} bytes`);
    }
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics' && !metricsAllowed(req, opts.metricsToken)) return deny(res, 401, 'metrics need the operator token');
    pinClientAddress(req, trustProxy);
    for (const l of requestListeners) l.call(server, req, res);
  });

  const upgradeListeners = server.listeners('upgrade') as ((req: IncomingMessage, socket: Duplex, head: Buffer) => void)[];
  server.removeAllListeners('upgrade');
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!originAllowed(req.headers.origin, req.headers.host, allowed)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    pinClientAddress(req, trustProxy);
    for (const l of upgradeListeners) l.call(server, req, socket, head);
  });
}

function metricsAllowed(req: IncomingMessage, token: string | undefined): boolean {
  if (token) {
    const given = Buffer.from(req.headers.authorization ?? '');
    const want = Buffer.from(`Bearer ${token}`);
    return given.length === want.length && timingSafeEqual(given, want);
  }
  return isLoopback(req.socket.remoteAddress) && req.headers['x-forwarded-for'] === undefined;
}
