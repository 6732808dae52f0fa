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

it('reads its options from the environment', () => {
  expect(() => configFromEnv({})).toThrow(/PARLEY_PERSONAPLEX_ONNX_DIR/);
  expect(configFromEnv({ PARLEY_PERSONAPLEX_ONNX_DIR: '/m', PARLEY_PERSONAPLEX_ONNX_PROVIDERS: 'webgpu,cuda' })).toMatchObject({ modelDir: '/m', providers: ['webgpu', 'cuda'] });
  expect(() => configFromEnv({ PARLEY_PERSONAPLEX_ONNX_DIR: '/m', PARLEY_PERSONAPLEX_ONNX_PROVIDERS: 'tpu' })).toThrow(/unknown execution provider 'tpu'/);
});
