/** Starts and stops game-server processes (game-server.ts) of a test cluster. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './redis.ts';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'game-server.ts');

export interface GameNode {
  port: number;
  url: string;
  http: string;
  processId: string;
  proc: ChildProcess;
  stderr: string[];
  exited: Promise<number | null>;
}

/** `redisUrl` undefined: a process on its own (no cluster). */
export async function startNode(redisUrl: string | undefined, env: Record<string, string> = {}): Promise<GameNode> {
  const port = await freePort();
  const proc = spawn(process.execPath, ['--import', 'tsx', SCRIPT], {
    env: { ...process.env, REDIS_URL: redisUrl ?? '', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  proc.stderr!.on('data', (b: Buffer) => stderr.push(b.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const processId = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`game server on ${port} did not start: ${stderr.join('')}`)), 30_000);
    proc.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { processId: string }).processId);
      }
    });
    void exited.then((code) => reject(new Error(`game server exited (${code}) before it was ready: ${stderr.join('')}`)));
  });
  return { port, url: `ws://127.0.0.1:${port}`, http: `http://127.0.0.1:${port}`, processId, proc, stderr, exited };
}
