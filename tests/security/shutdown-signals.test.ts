/** Finding 10 (last part): two SIGTERMs 5 ms apart killed the process part-way through its shutdown. */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./fixtures/signal-server.ts', import.meta.url));

describe('shutdown signals', () => {
  it('a second signal during shutdown does not cut it short', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ready: ${out}`)), 20_000);
      child.stdout.on('data', () => out.includes('ready') && (clearTimeout(t), resolve()));
    });
    child.kill('SIGTERM');
    // the second once the first was taken (two pending signals of one kind merge into one)
    while (!out.includes('signal: shutting down')) await new Promise((r) => setTimeout(r, 2));
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c, sig) => resolve(sig ? -1 : c)));
    expect(code).toBe(0);
    expect(out).toMatch(/already shutting down; signal ignored/);
    expect(out).toMatch(/stopped cleanly/);
  }, 30_000);
});
