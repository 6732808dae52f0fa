/**
 * A network impairment proxy on 127.0.0.1, made by the latency bench itself: HTTP (Colyseus matchmaking) is
 * passed through untouched; every WebSocket message, both ways, is held for a random delay of 0..jitterMs
 * (uniform) and released in order, as a TCP link with jitter delivers (a late message holds back the ones after
 * it). Voice-sized messages (≥ 1000 bytes: PCM16 voice frames up and down) are dropped with `loss` probability;
 * control messages (join, state patches, events) are never dropped, since a WebSocket would not lose them.
 * Records the delay each forwarded message got, per direction.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { seededRandom } from '../../server/seeded-random.ts';

export interface Impairment {
  jitterMs: number;
  loss: number;
  seed?: number;
}

export interface ImpairedLink {
  url: string;
  /** ms each forwarded message spent in the proxy, by direction */
  delays: { up: number[]; down: number[] };
  dropped: { up: number; down: number };
  close(): Promise<void>;
}

const VOICE_BYTES = 1000;

export async function startImpairedLink(target: string, imp: Impairment): Promise<ImpairedLink> {
  const t = new URL(target);
  const rnd = seededRandom(imp.seed ?? 1);
  const delays = { up: [] as number[], down: [] as number[] };
  const dropped = { up: 0, down: 0 };

  const server = http.createServer((req, res) => {
    const fwd = http.request({ host: t.hostname, port: t.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    fwd.on('error', () => res.writeHead(502).end());
    req.pipe(fwd);
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (client, req) => {
    const upstream = new WebSocket(`ws://${t.host}${req.url ?? '/'}`);
    const pendingUp: { data: RawData; binary: boolean }[] = [];
    const lane = (dir: 'up' | 'down', to: () => WebSocket) => {
      let releaseAt = 0;
      return (data: RawData, binary: boolean) => {
        const size = Array.isArray(data) ? data.reduce((a, b) => a + b.length, 0) : (data as Buffer).byteLength;
        if (size >= VOICE_BYTES && rnd() < imp.loss) {
          dropped[dir]++;
          return;
        }
        const now = performance.now();
        releaseAt = Math.max(releaseAt, now + rnd() * imp.jitterMs);
        const send = () => {
          const ws = to();
          if (ws.readyState !== WebSocket.OPEN) return;
          delays[dir].push(performance.now() - now);
          ws.send(data, { binary });
        };
        if (releaseAt - now < 0.5) send();
        else setTimeout(send, releaseAt - now);
      };
    };
    const up = lane('up', () => upstream);
    const down = lane('down', () => client);
    client.on('message', (data, binary) => {
      if (upstream.readyState === WebSocket.OPEN) up(data, binary);
      else pendingUp.push({ data, binary });
    });
    upstream.on('open', () => {
      for (const m of pendingUp.splice(0)) up(m.data, m.binary);
    });
    upstream.on('message', down);
    // Pass close codes through (Colyseus reads them: an abnormal one makes its client try to reconnect).
    const sendable = (code: number) => (code === 1000 || (code >= 3000 && code < 5000) ? code : 1000);
    const closeBoth = (code = 1000, reason?: Buffer) => {
      if (client.readyState < WebSocket.CLOSING) client.close(sendable(code), reason);
      if (upstream.readyState === WebSocket.OPEN) upstream.close(sendable(code), reason);
      else if (upstream.readyState === WebSocket.CONNECTING) upstream.terminate();
    };
    client.on('close', (code, reason) => closeBoth(code, reason));
    upstream.on('close', (code, reason) => closeBoth(code, reason));
    client.on('error', () => closeBoth());
    upstream.on('error', () => closeBoth());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}`,
    delays,
    dropped,
    close: () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.close(1000);
        wss.close();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

