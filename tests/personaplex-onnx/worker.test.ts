/** The engine hosted the way the server hosts it: createEngine() inside a WorkerPoolEngine worker thread. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { WorkerPoolEngine } from '../../server/engines/worker/pool.ts';
import { configFromEnv } from '../../server/engines/personaplex-onnx/config.ts';
import { persona, tempBundle, userFrame } from './helpers.ts';

let bundle: Awaited<ReturnType<typeof tempBundle>>;
beforeAll(async () => {
  bundle = await tempBundle();
});
afterAll(async () => {
  await bundle?.cleanup();
});

it('runs in a worker thread through WorkerPoolEngine', async () => {
  const module = fileURLToPath(new URL('../../server/engines/personaplex-onnx/index.ts', import.meta.url));
  const pool = await WorkerPoolEngine.start({ module, options: { modelDir: bundle.dir }, stepTimeoutMs: 10_000 });
  try {
    expect(pool.name).toBe('personaplex-onnx');
    expect(pool.capacity).toBeGreaterThan(0);
    const progress: string[] = [];
    const a = await pool.open(persona(), { onProgress: (p) => progress.push(p.phase) });
    const b = await pool.open(persona({ seed: 5 }));
    expect(progress.length).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) {
      const outs = await pool.step([
        { session: a, input: userFrame(i) },
        { session: b, input: userFrame(i, 1) },
      ]);
      for (const o of outs) {
        expect(o.error).toBeUndefined();
        expect(o.output.length).toBe(1920);
      }
    }
    await pool.close(a);
  } finally {
    await pool.dispose();
  }
});

it('a session opening in the worker does not hold up the steps of the others (step overtakes a pending open)', async () => {
  // A 4 ms tick: the tiny bundle's prefill is cheap, so shrink the budget until every prefill run is one frame
  // and must wait for a step to end (or for the guard). If the worker answered strictly in order, the steps sent
  // during the open would wait behind it and none could finish before it; the prefill would then crawl on the
  // guard alone (1 s a run). Asserted on counts and order, not on wall-clock times.
  const module = fileURLToPath(new URL('../../server/engines/personaplex-onnx/index.ts', import.meta.url));
  const options = { modelDir: bundle.dir, intraOpNumThreads: 1, prefillPacing: { tickMs: 4, idleMs: 10_000, guardMs: 1_000 } };
  const pool = await WorkerPoolEngine.start({ module, options, stepTimeoutMs: 30_000 });
  try {
    const others = [await pool.open(persona({ seed: 1 })), await pool.open(persona({ seed: 2 }))];
    const events: string[] = [];
    let stop = false;
    let steps = 0;
    const loop = (async () => {
      while (!stop) {
        const outs = await pool.step(others.map((session, k) => ({ session, input: userFrame(steps, k) })));
        for (const o of outs) expect(o.error).toBeUndefined();
        steps++;
        events.push('step');
      }
    })();
    while (steps < 2) await new Promise((r) => setTimeout(r, 5));
    events.length = 0;
    const p = persona({ seed: 9, textPrompt: 'You are the ship doctor and you speak calmly about every injury you have ever treated.' });
    const joined = await pool.open(p).then((id) => (events.push('open'), id));
    stop = true;
    await loop;
    const during = events.indexOf('open');
    // Many steps finished while the open was pending (at least one per paced prefill run, and there are several).
    expect(during).toBeGreaterThanOrEqual(3);
    expect(events.slice(0, during).every((e) => e === 'step')).toBe(true);
    const out = await pool.step([{ session: joined, input: userFrame(0, 3) }]);
    expect(out[0]!.error).toBeUndefined();
  } finally {
    await pool.dispose();
  }
}, 60_000);

it('reads its options from the environment', () => {
  expect(() => configFromEnv({})).toThrow(/PARLEY_PERSONAPLEX_ONNX_DIR/);
  expect(configFromEnv({ PARLEY_PERSONAPLEX_ONNX_DIR: '/m', PARLEY_PERSONAPLEX_ONNX_PROVIDERS: 'webgpu,cuda' })).toMatchObject({ modelDir: '/m', providers: ['webgpu', 'cuda'] });
  expect(() => configFromEnv({ PARLEY_PERSONAPLEX_ONNX_DIR: '/m', PARLEY_PERSONAPLEX_ONNX_PROVIDERS: 'tpu' })).toThrow(/unknown execution provider 'tpu'/);
});
