/**
 * Seat leases through a real redis-server, across processes: stand-in model servers of capacity 1 (plain TCP
 * servers that count who is connected, standing in for the official PersonaPlex server's one conversation) never
 * see two game-server processes at once under hundreds of lease/connect/hang-up/release cycles, and a process
 * killed with -9 while holding a seat frees it within the lease TTL (3 s) plus one heartbeat.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RedisSeatLeases } from '../../server/cluster/seat-leases.ts';
import { startRedis, type RunningRedis } from './support/redis.ts';
import { sleep } from '../support/time.ts';

const CHURNER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'support', 'lease-churner.ts');

interface StandIn {
  port: number;
  now: number;
  max: number;
  visits: number;
  server: net.Server;
}

/** A capacity-1 model server stand-in: counts connections in (answering one byte) and out. */
async function standIn(): Promise<StandIn> {
  const s: StandIn = { port: 0, now: 0, max: 0, visits: 0, server: net.createServer() };
  s.server.on('connection', (sock) => {
    s.now++;
    s.visits++;
    s.max = Math.max(s.max, s.now);
    sock.on('error', () => undefined);
    sock.once('end', () => {
      s.now--;
      sock.end();
    });
    sock.write('k');
  });
  await new Promise<void>((r) => s.server.listen(0, '127.0.0.1', () => r()));
  s.port = (s.server.address() as net.AddressInfo).port;
  return s;
}

function run(env: Record<string, string>) {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHURNER], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  const done = new Promise<Record<string, number>>((resolve, reject) =>
    proc.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`churner exited ${code}`)))),
  );
  return { proc, done, output: () => out };
}

let redis: RunningRedis;
const servers: StandIn[] = [];

beforeAll(async () => {
  redis = await startRedis();
  servers.push(await standIn(), await standIn());
}, 20_000);

afterAll(async () => {
  for (const s of servers) s.server.close();
  await redis?.stop();
});

describe('seat leases across processes', () => {
  it('never double-books a capacity-1 server under churn by three processes', async () => {
    const env = { REDIS_URL: redis.url, SERVERS: servers.map((s) => s.port).join(','), CYCLES: '200' };
    const results = await Promise.all([run(env), run(env), run(env)].map((r) => r.done));
    const acquired = results.reduce((n, r) => n + r.acquired!, 0);
    const refused = results.reduce((n, r) => n + r.refused!, 0);
    console.log(`lease churn: ${acquired} seats leased and used, ${refused} refused (seat taken), by 3 processes on 2 servers of capacity 1`);
    expect(acquired).toBeGreaterThanOrEqual(200);
    expect(refused).toBeGreaterThan(0); // the processes did contend
    for (const s of servers) {
      expect(s.max).toBe(1);
      expect(s.now).toBe(0);
    }
    expect(servers.reduce((n, s) => n + s.visits, 0)).toBe(acquired);
    expect(await redis.client.keys('parley:seat:*')).toEqual([]);
  }, 120_000);

  it('frees a seat within the TTL when its holder is killed with -9', async () => {
    const holder = run({ REDIS_URL: redis.url, SERVERS: String(servers[0]!.port), HOLD: 'forever' });
    holder.done.catch(() => undefined); // it is killed: no clean exit expected
    const until = Date.now() + 10_000;
    while (!holder.output().includes('holding') && Date.now() < until) await sleep(20);
    const client = new Redis(redis.url);
    const leases = new RedisSeatLeases(client, { holder: 'test', ttlMs: 3_000 });
    try {
      expect(await leases.acquire(`stand-in:${servers[0]!.port}`, 1)).toBeNull();
      const killedAt = Date.now();
      holder.proc.kill('SIGKILL');
      let lease = null;
      while (!lease && Date.now() - killedAt < 6_000) {
        lease = await leases.acquire(`stand-in:${servers[0]!.port}`, 1);
        if (!lease) await sleep(50);
      }
      const freedMs = Date.now() - killedAt;
      console.log(`seat of a killed process free again after ${freedMs} ms (TTL 3000 ms, heartbeat 1000 ms)`);
      expect(lease).not.toBeNull();
      expect(freedMs).toBeLessThanOrEqual(3_500);
    } finally {
      await leases.close();
      client.disconnect();
    }
  }, 30_000);

  it('a holder that finds its lease gone is told (and stops using the seat)', async () => {
    const client = new Redis(redis.url);
    const leases = new RedisSeatLeases(client, { holder: 'test', ttlMs: 600, heartbeatMs: 200 });
    try {
      const lease = (await leases.acquire('stand-in:lost', 1))!;
      let lost = false;
      lease.onLost(() => (lost = true));
      await sleep(500);
      expect(lost).toBe(false); // the heartbeat keeps it past its TTL
      await redis.client.del('parley:seat:stand-in:lost#0'); // e.g. Redis restarted without persistence
      await sleep(400);
      expect(lost).toBe(true);
    } finally {
      await leases.close();
      client.disconnect();
    }
  });
});
