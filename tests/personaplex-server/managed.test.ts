import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { OpenProgress } from '../../server/engines/contract.ts';
import { progressFromLog } from '../../server/engines/personaplex-server/managed-server.ts';
import { drive, persona, sleep, startEngine } from './helpers.ts';

const FAKE = fileURLToPath(new URL('./fake-moshi-server.ts', import.meta.url));
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!().catch(() => undefined);
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('loading progress from the official server log', () => {
  it('reads the stages and the weight download bar', () => {
    let p: OpenProgress = { phase: 'starting process', fraction: 0 };
    const seen: OpenProgress[] = [];
    for (const line of [
      '2026-03-02 10:00:00,000 - __main__ - INFO - loading mimi',
      '2026-03-02 10:00:01,000 - __main__ - INFO - mimi loaded',
      '2026-03-02 10:00:01,000 - __main__ - INFO - loading moshi',
      'model.safetensors:  50%|#####     | 8.35G/16.7G [01:00<01:00, 139MB/s]',
      'something unrelated',
      '2026-03-02 10:03:00,000 - __main__ - INFO - moshi loaded',
      '2026-03-02 10:03:00,000 - __main__ - INFO - warming up the model',
      '2026-03-02 10:03:09,000 - __main__ - INFO - Access the Web UI directly at http://10.0.0.2:8998',
    ]) {
      const next = progressFromLog(line, p);
      if (next) seen.push((p = next));
    }
    expect(seen.map((s) => s.phase)).toEqual([
      'loading Mimi', 'Mimi loaded', 'loading PersonaPlex weights', 'downloading model.safetensors 50%', 'weights loaded', 'warming up', 'starting web server',
    ]);
    expect(seen.map((s) => s.fraction)).toEqual([...seen.map((s) => s.fraction)].sort((a, b) => a - b)); // never goes back
    expect(seen[3]!.fraction).toBeCloseTo(0.46, 2);
  });
});

describe('managed mode', () => {
  it('starts the server, shows its loading in open() progress, waits until it answers, restarts it when it dies', async () => {
    const port = await freePort();
    const e = await startEngine(
      [{ url: `http://127.0.0.1:${port}`, capacity: 1, managed: { command: process.execPath, args: ['--import', 'tsx', FAKE, '--port', String(port), '--exit-after-ms', '2500'] } }],
    );
    cleanup.push(() => e.dispose());
    expect(e.status()[0]!.state).toBe('starting');
    const progress: OpenProgress[] = [];
    const id = await e.open(persona(), { onProgress: (p) => progress.push(p) });
    const phases = progress.map((p) => p.phase);
    expect(phases.some((p) => p.startsWith('server loading: '))).toBe(true);
    expect(phases).toContain('prompt');
    expect(progress.at(-1)!.fraction).toBe(1);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.fraction).toBeGreaterThanOrEqual(progress[i - 1]!.fraction - 1e-9);
    expect(e.logLines.some((l) => l.includes('INFO - loading moshi'))).toBe(true); // the server log is passed on

    // the process exits with an error (--exit-after-ms): the session fails, the pool restarts the server
    const out = await drive(e, [id], 200, undefined, 20, 1000, (o) => o[0]!.error !== undefined);
    expect(out.at(-1)![0]!.error?.message).toMatch(/server ended the conversation|is down: server process exited with code 1/);
    await e.close(id);
    for (let i = 0; i < 100 && !e.logLines.some((l) => /restartInMs=\d+ managed server exited; restarting/.test(l)); i++) await sleep(50);
    expect(e.logLines.some((l) => /restartInMs=\d+ managed server exited; restarting/.test(l))).toBe(true);
    // a new session opens once the restarted server has loaded
    const id2 = await e.open(persona());
    const ok = await drive(e, [id2], 10);
    expect(ok.every(([o]) => !o!.error)).toBe(true);
  }, 30_000);

  it('a command that cannot start is reported, and open fails clearly instead of hanging', async () => {
    const port = await freePort();
    const e = await startEngine([{ url: `http://127.0.0.1:${port}`, capacity: 1, managed: { command: '/nonexistent/python', args: ['-m', 'moshi.server'] } }], {
      loadingWaitMs: 1500,
    });
    cleanup.push(() => e.dispose());
    await sleep(300);
    expect(e.logLines.some((l) => /could not start \/nonexistent\/python/.test(l))).toBe(true);
    await expect(e.open(persona())).rejects.toThrow(/no PersonaPlex server can take a conversation now/);
  }, 10_000);
});
