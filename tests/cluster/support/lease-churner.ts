/**
 * One game-server process's share of the lease churn test: for CYCLES cycles it leases a seat on one of the
 * stand-in model servers (capacity 1 each) through Redis, connects to that server, holds the connection a few
 * ms, hangs up (waiting for the server to see it), and releases the lease. HOLD=forever holds the first seat it
 * gets until killed. Prints `{ acquired, refused }` on stdout at the end. Environment: REDIS_URL, SERVERS
 * (comma-separated ports), CYCLES, HOLD.
 */
import net from 'node:net';
import { Redis } from 'ioredis';
import { RedisSeatLeases } from '../../../server/cluster/seat-leases.ts';
import { sleep } from '../../support/time.ts';

const redis = new Redis(process.env.REDIS_URL!);
const leases = new RedisSeatLeases(redis, { holder: `churner-${process.pid}`, ttlMs: 3_000 });
const ports = process.env.SERVERS!.split(',').map(Number);
const cycles = Number(process.env.CYCLES ?? 100);
let acquired = 0;
let refused = 0;

function visit(port: number, holdMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.once('error', reject);
    sock.once('data', () => {
      // the server counted us in; hang up after the hold and wait until it has counted us out
      setTimeout(() => sock.end(), holdMs);
    });
    sock.once('close', () => resolve());
    sock.resume();
  });
}

if (process.env.HOLD === 'forever') {
  for (;;) {
    const lease = await leases.acquire(`stand-in:${ports[0]}`, 1);
    if (lease) {
      process.stdout.write(JSON.stringify({ holding: true }) + '\n');
      net.connect(ports[0]!, '127.0.0.1');
      await new Promise(() => undefined);
    }
    await sleep(20);
  }
}

for (let i = 0; i < cycles; i++) {
  const port = ports[Math.floor(Math.random() * ports.length)]!;
  const lease = await leases.acquire(`stand-in:${port}`, 1);
  if (!lease) {
    refused++;
    await sleep(Math.random() * 5);
    continue;
  }
  acquired++;
  await visit(port, Math.random() * 10);
  await lease.release();
}
await leases.close();
redis.disconnect();
process.stdout.write(JSON.stringify({ acquired, refused }) + '\n');
