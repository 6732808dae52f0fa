/**
 * A real redis-server (the Debian package, installed by .ci/setup) on a free loopback port, in memory only, for
 * the cluster tests and bench. Stopped with the test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { Redis } from 'ioredis';
import { sleep } from '../../support/time.ts';

export interface RunningRedis {
  url: string;
  port: number;
  client: Redis;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function startRedis(): Promise<RunningRedis> {
  const port = await freePort();
  const proc: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  const until = Date.now() + 10_000;
  for (;;) {
    try {
      await client.connect();
      await client.ping();
      break;
    } catch (err) {
      if (Date.now() > until) throw new Error(`redis-server did not start on port ${port}: ${(err as Error).message}`);
      client.disconnect();
      await sleep(100);
    }
  }
  return {
    url,
    port,
    client,
    async stop() {
      client.disconnect();
      proc.kill('SIGKILL');
      await exited;
    },
  };
}
