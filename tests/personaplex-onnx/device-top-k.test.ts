/**
 * Device-side top-k (issue 17): ONNX TopK on the provider returns B × k values and ids, the host draws. It must
 * draw exactly the tokens the host sampler draws for the same logits and generator state. Run here on the CPU
 * provider (the same graph runs on WebGPU in deployment; not checked on a GPU here).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { DeviceTopK } from '../../server/engines/personaplex-onnx/device-top-k.ts';
import { Rng } from '../../server/engines/personaplex-onnx/sampling.ts';
import { TopKSampler } from '../../server/engines/personaplex-onnx/top-k.ts';
import { PersonaPlexOnnxEngine } from '../../server/engines/personaplex-onnx/engine.ts';
import type { StepOutput } from '../../server/engines/contract.ts';
import { persona, tempBundle, userFrame } from './helpers.ts';

const CPU = { executionProviders: ['cpu'], intraOpNumThreads: 1 } as ort.InferenceSession.SessionOptions;

/** Random logits for B rows; `levels` > 0 quantises them so that ties cross the top-k cut. */
function logits(r: Rng, B: number, V: number, levels: number): Float32Array {
  return Float32Array.from({ length: B * V }, () => {
    const x = (r.next() * 2 - 1) * 6;
    return levels ? Math.round(x * levels) / levels : x;
  });
}

/** Round-to-nearest fp32 → fp16 bits (normal range: the test logits are within ±6). */
function toHalf(x: Float32Array): Uint16Array {
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  return Uint16Array.from(x, (v) => {
    f[0] = v;
    const b = u[0]!;
    const sign = (b >>> 16) & 0x8000;
    const e = ((b >>> 23) & 0xff) - 112;
    if (e <= 0) return sign;
    const m = (b >>> 13) & 0x3ff;
    const round = (b >>> 12) & 1;
    return (sign | (e << 10) | m) + round;
  });
}

describe('device-side top-k (ONNX TopK + host draw)', () => {
  const cases = [
    { name: 'text rows (top 25 of 32,000)', V: 32000, k: 25, temperature: 0.7 },
    { name: 'audio rows (top 250 of 2,048)', V: 2048, k: 250, temperature: 0.8 },
  ];
  for (const dtype of ['float32', 'float16'] as const) {
    for (const c of cases) {
      it(`${dtype} ${c.name}: the same tokens as the host sampler for the same seed and logits, ties included`, async () => {
        const sel = await DeviceTopK.open(c.k, dtype, CPU);
        const sampler = new TopKSampler();
        const r = new Rng(c.V + (dtype === 'float16' ? 1 : 0));
        const B = 6;
        let draws = 0;
        const distinct = new Set<number>();
        try {
          for (const levels of [0, 4, 1]) {
            const x = logits(r, B, c.V, levels);
            const data = dtype === 'float16' ? toHalf(x) : x;
            const picked = await sel.run(new ort.Tensor(dtype, data as Float32Array, [B, 1, c.V]));
            expect(picked.k).toBe(c.k);
            for (let b = 0; b < B; b++) {
              for (let seed = 1; seed <= 20; seed++) {
                const p = { temperature: c.temperature, topK: c.k };
                const host = sampler.sample(data, b * c.V, c.V, p, new Rng(seed));
                const device = sel.draw(picked, b, c.temperature, new Rng(seed));
                expect(device).toBe(host);
                distinct.add(device);
                draws++;
              }
            }
          }
        } finally {
          await sel.release();
        }
        expect(draws).toBe(3 * B * 20);
        // the draws vary with the seed (a draw that ignored the generator would pass the equality above)
        expect(distinct.size).toBeGreaterThan(10);
      });
    }
  }

  it('greedy (temperature 0) takes the first of equal maxima, as the host argmax does', async () => {
    const sel = await DeviceTopK.open(1, 'float32', CPU);
    try {
      const x = Float32Array.of(1, 5, 2, 5, 0, 3, 3, 1);
      const picked = await sel.run(new ort.Tensor('float32', x, [2, 1, 4]));
      expect([0, 1].map((b) => sel.draw(picked, b, 0, new Rng(1)))).toEqual([1, 1]);
      expect(new TopKSampler().sample(x, 4, 4, { temperature: 0, topK: 1 }, new Rng(1))).toBe(1);
    } finally {
      await sel.release();
    }
  });
});

describe('the engine with selection on the provider', () => {
  let bundle: Awaited<ReturnType<typeof tempBundle>>;
  beforeAll(async () => {
    bundle = await tempBundle();
  });
  afterAll(async () => {
    await bundle?.cleanup();
  });

  async function run(selection: 'host' | 'device'): Promise<{ outs: StepOutput[][]; e: PersonaPlexOnnxEngine }> {
    // The device run also cuts the Mimi decoder's newest frame with the post-graph (as on WebGPU).
    const e = await PersonaPlexOnnxEngine.create({ modelDir: bundle.dir, intraOpNumThreads: 1, selection, capacity: 3, mimiTailOnDevice: selection === 'device' });
    const ids = [await e.open(persona({ seed: 5 })), await e.open(persona({ seed: 6 })), await e.open(persona({ seed: 7, textPrompt: 'You sell apples.' }))];
    const outs: StepOutput[][] = [];
    for (let i = 0; i < 24; i++) outs.push(await e.step(ids.map((session, j) => ({ session, input: userFrame(i, j) }))));
    await e.dispose();
    return { outs, e };
  }

  it('steps three sessions to the same audio and text as the host sampler (and the host cut of the Mimi window)', async () => {
    const host = await run('host');
    const device = await run('device');
    expect(host.e.selection).toBe('host');
    expect(device.e.selection).toBe('device');
    let voiced = 0;
    for (let i = 0; i < host.outs.length; i++) {
      host.outs[i]!.forEach((o, j) => {
        const d = device.outs[i]![j]!;
        expect(d.error).toBeUndefined();
        expect(d.text ?? null).toBe(o.text ?? null);
        expect(d.output.length).toBe(1920);
        expect(Array.from(d.output)).toEqual(Array.from(o.output));
        if (d.output.some((v) => v !== 0)) voiced++;
      });
    }
    expect(voiced).toBeGreaterThan(0);
  }, 60_000);

  it("defaults to the host sampler on the CPU provider ('auto')", async () => {
    const e = await PersonaPlexOnnxEngine.create({ modelDir: bundle.dir, intraOpNumThreads: 1 });
    expect(e.selection).toBe('host');
    await e.dispose();
  });
});
