/** serve()'s detached requests: they start in order but later requests do not wait for them (engine opens). */
import { afterEach, expect, it } from 'vitest';
import { WorkerHost } from '../../../server/engines/worker/host.ts';
import type { DetachedRequest } from './detached-worker.ts';

const MODULE = new URL('./detached-worker.ts', import.meta.url);
let h: WorkerHost<DetachedRequest> | undefined;
afterEach(async () => {
  await h?.dispose();
});

it('a detached request does not hold up later ones, and still waits for earlier ones', async () => {
  h = new WorkerHost<DetachedRequest>({ module: MODULE, name: 'detached stand-in' });
  const order: string[] = [];
  const note = (name: string) => (v: unknown) => {
    order.push(name);
    return v;
  };
  // 'pause' (ordered) is ahead of 'wait' (detached), which must not start before it ends; the echoes and the
  // release come after 'wait' and must not wait for it (strictly in order, 'wait' would never be released:
  // the echo's deadline turns that into a failure instead of a hang).
  const replies = Promise.all([
    h.request({ op: 'pause', ms: 100 }).then(note('pause')),
    h.request({ op: 'wait' }, { timeoutMs: 10_000 }).then(note('wait')),
    h.request({ op: 'echo', value: 1 }, { timeoutMs: 5_000 }).then(note('echo 1')),
    h.request({ op: 'echo', value: 2 }, { timeoutMs: 5_000 }).then(note('echo 2')),
    h.request({ op: 'release' }, { timeoutMs: 5_000 }).then(note('release')),
  ]);
  expect(await replies).toEqual(['paused', 'started after it', 1, 2, 'released']);
  expect(order).toEqual(['pause', 'echo 1', 'echo 2', 'release', 'wait']);
});
