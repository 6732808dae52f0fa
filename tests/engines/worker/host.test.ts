/** The one worker host: replies, progress, typed failures, deadlines, crashes, respawn with backoff, log relay. */
import { afterEach, describe, expect, it } from 'vitest';
import { EngineFailure } from '../../../server/engines/contract.ts';
import { WorkerHost, type WorkerHostOptions } from '../../../server/engines/worker/host.ts';
import { recordingLogger } from '../../support/log.ts';
import { sleep } from '../../support/time.ts';
import type { StandInRequest } from './stand-in-worker.ts';

const MODULE = new URL('./stand-in-worker.ts', import.meta.url);
const hosts: WorkerHost<StandInRequest>[] = [];
afterEach(async () => {
  for (const h of hosts.splice(0)) await h.dispose();
});
const host = (o: Partial<WorkerHostOptions> = {}) => {
  const h = new WorkerHost<StandInRequest>({ module: MODULE, name: 'stand-in worker', ...o });
  hosts.push(h);
  return h;
};
const failure = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as EngineFailure);

describe('WorkerHost', () => {
  it('answers requests in order, with progress, and transfers buffers back', async () => {
    const h = host();
    const seen: unknown[] = [];
    const [a, b, c] = await Promise.all([
      h.request({ op: 'echo', value: { x: 1 } }),
      h.request({ op: 'progress', steps: 4 }, { onProgress: (p) => seen.push(p) }),
      h.request<Float32Array>({ op: 'buffer', length: 3 }),
    ]);
    expect(a).toEqual({ x: 1 });
    expect(b).toBe('done');
    expect(seen).toEqual([0.25, 0.5, 0.75, 1]);
    expect(Array.from(c)).toEqual([0.5, 0.5, 0.5]);
    expect(h.inFlight).toBe(0);
  });

  it('carries the kind of a failure from the worker; anything untyped is failed', async () => {
    const h = host();
    const busy = await failure(h.request({ op: 'reject', kind: 'busy' }));
    expect(busy).toBeInstanceOf(EngineFailure);
    expect([busy!.kind, busy!.message]).toEqual(['busy', 'stand-in says busy']);
    expect((await failure(h.request({ op: 'reject', kind: 'rejected' })))!.kind).toBe('rejected');
    const plain = await failure(h.request({ op: 'throw' }));
    expect([plain!.kind, plain!.message]).toEqual(['failed', 'plain failure']);
    expect(await h.request({ op: 'echo', value: 2 })).toBe(2); // the worker is still there
    expect(h.generation).toBe(1);
  });

  it('a request past its deadline is a timeout; the stuck worker is replaced after the backoff', async () => {
    const { log, lines } = recordingLogger();
    const deaths: string[] = [];
    const h = host({ log, backoff: { initialMs: 200, maxMs: 1000 }, onDeath: (why) => deaths.push(why) });
    expect(await h.request({ op: 'echo', value: 'warm' })).toBe('warm');
    const queued = failure(h.request({ op: 'echo', value: 'behind the hang' }, {}));
    const hung = await failure(h.request({ op: 'hang' }, { timeoutMs: 300, what: 'hang' }));
    expect([hung!.kind, hung!.message]).toEqual(['timeout', 'stand-in worker did not answer hang within 300 ms']);
    expect(await queued).toBeNull(); // it was answered before the hang
    expect(deaths).toEqual(['hang overran 300 ms']);
    expect(h.alive).toBe(false);
    const during = await failure(h.request({ op: 'echo', value: 1 }));
    expect(during!.kind).toBe('crashed');
    for (let i = 0; i < 100 && !h.alive; i++) await sleep(20);
    expect(h.generation).toBe(2);
    expect(await h.request({ op: 'echo', value: 'again' })).toBe('again');
    expect(lines.join('\n')).toMatch(/why=hang overran 300 ms respawnInMs=200 worker died/);
  });

  it('a crash fails every pending request as crashed; repeated crashes back off exponentially', async () => {
    const h = host({ backoff: { initialMs: 100, maxMs: 400 } });
    const deaths: number[] = [];
    const starts: number[] = [];
    const h2 = host({ backoff: { initialMs: 100, maxMs: 400 }, onDeath: () => deaths.push(performance.now()), onSpawn: () => starts.push(performance.now()) });
    const [crash, pending] = await Promise.all([failure(h.request({ op: 'crash' })), failure(h.request({ op: 'echo', value: 1 }))]);
    expect(crash!.kind).toBe('crashed');
    expect(crash!.message).toMatch(/stand-in worker failed: worker exited with code 3/);
    expect(pending!.kind).toBe('crashed');
    // three crashes in a row on h2: it waits 100, 200, then 400 ms after each death before starting again
    for (let n = 0; n < 3; n++) {
      for (let i = 0; i < 500 && !h2.alive; i++) await sleep(10);
      await failure(h2.request({ op: 'crash' }));
    }
    for (let i = 0; i < 100 && starts.length < 4; i++) await sleep(10);
    const waits = deaths.map((d, i) => starts[i + 1]! - d);
    expect(waits).toHaveLength(3);
    [100, 200, 400].forEach((ms, i) => expect(waits[i]!).toBeGreaterThanOrEqual(ms - 5));
    expect(waits[2]!).toBeGreaterThan(waits[0]!);
  });

  it('on-demand respawn starts a worker for the next request; never stays dead', async () => {
    const lazy = host({ lazy: true, respawn: 'on-demand', backoff: { initialMs: 50, maxMs: 50 } });
    expect(lazy.alive).toBe(false);
    expect(await lazy.request({ op: 'echo', value: 1 })).toBe(1);
    await failure(lazy.request({ op: 'crash' }));
    expect(await lazy.request({ op: 'echo', value: 2 })).toBe(2);
    expect(lazy.generation).toBe(2);
    const once = host({ respawn: 'never' });
    await failure(once.request({ op: 'crash' }));
    await sleep(300);
    expect(once.alive).toBe(false);
    expect((await failure(once.request({ op: 'echo', value: 3 })))!.kind).toBe('crashed');
  });

  it("writes the worker's log records through this thread's logger, with its bindings and level", async () => {
    const { log, lines } = recordingLogger();
    const h = host({ log: log.child({ engine: 'stand-in' }) });
    expect(await h.request({ op: 'log', message: 'hello from the worker' })).toBe(true);
    await sleep(50);
    expect(lines).toContain('engine=stand-in part=stand-in detail=7 hello from the worker');
    const quiet = recordingLogger();
    quiet.log.level = 'error';
    const h2 = host({ log: quiet.log });
    await h2.request({ op: 'log', message: 'filtered in the worker' });
    await sleep(50);
    expect(quiet.lines).toEqual([]);
  });

  it('dispose fails what is pending and nothing restarts', async () => {
    const h = host();
    await h.request({ op: 'echo', value: 0 });
    const pending = failure(h.request({ op: 'hang' }));
    await h.dispose();
    expect((await pending)!.kind).toBe('crashed');
    await sleep(300);
    expect(h.alive).toBe(false);
  });
});
