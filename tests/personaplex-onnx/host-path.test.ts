/**
 * Issue 17's host side: batch rebuilds with one download per tensor at larger B, prompt prefill paced around
 * the ticks of sessions already stepping, and the capacity planner. Tiny bundle (CPU) as the model stand-in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { PersonaPlexOnnxEngine } from '../../server/engines/personaplex-onnx/engine.ts';
import { TemporalBatch, hostDownload, type CompactKv, type Download } from '../../server/engines/personaplex-onnx/temporal-kv.ts';
import { PrefillPacer } from '../../server/engines/personaplex-onnx/prefill-pacer.ts';
import { formatPlan, kvBytesPerFrame, planCapacity, readExportFacts } from '../../server/engines/personaplex-onnx/capacity.ts';
import type { Geometry } from '../../server/engines/personaplex-onnx/graphs.ts';
import type { StepOutput } from '../../server/engines/contract.ts';
import { run as cli } from '../../server/cli/main.ts';
import { Rng } from '../../server/engines/personaplex-onnx/sampling.ts';
import { FakeClock } from '../support/time.ts';
import { writeHostBundle } from './host-bundle.ts';
import { persona, tempBundle, userFrame } from './helpers.ts';

let bundle: Awaited<ReturnType<typeof tempBundle>>;
beforeAll(async () => {
  bundle = await tempBundle();
});
afterAll(async () => {
  await bundle?.cleanup();
});

const geometry = (layers: number, heads: number, headDim: number): Geometry =>
  ({ temporalLayers: layers, temporalHeads: heads, temporalHeadDim: headDim, temporalKvType: 'float32' }) as Geometry;

function randomCache(r: Rng, g: Geometry, len: number): CompactKv {
  return { len, data: Array.from({ length: 2 * g.temporalLayers }, () => Float32Array.from({ length: g.temporalHeads * len * g.temporalHeadDim }, () => r.next())) };
}

describe('temporal batch rebuild (issue 17)', () => {
  for (const layout of ['concat', 'gqa'] as const) {
    it(`${layout}: extracting 24 rows downloads each tensor once and gives what row-by-row extraction gives`, async () => {
      const g = geometry(2, 3, 4);
      const r = new Rng(5);
      const b = new TemporalBatch(g, layout, 12);
      const caches = Array.from({ length: 24 }, (_, i) => randomCache(r, g, 1 + ((i * 7) % 10)));
      b.build(caches.map((_, i) => i + 1), caches);
      // A few steps so rows hold appended slots, padding and (concat) forgotten entries past the window.
      for (let t = 0; t < 6; t++) {
        const presents = b.tensors.map((x) => {
          const [B, H, P, D] = x.dims as number[];
          const out = new Float32Array(B! * H! * (P! + 1) * D!);
          const src = x.data as Float32Array;
          for (let row = 0; row < B! * H!; row++) {
            out.set(src.subarray(row * P! * D!, (row + 1) * P! * D!), row * (P! + 1) * D!);
            for (let d = 0; d < D!; d++) out[row * (P! + 1) * D! + P! * D! + d] = r.next();
          }
          return new ort.Tensor('float32', out, [B!, H!, P! + 1, D!]);
        });
        b.advance(presents);
      }
      let downloads = 0;
      const counting: Download = async (t) => {
        downloads++;
        return hostDownload(t);
      };
      const all = await b.extractAll(counting);
      expect(downloads).toBe(2 * g.temporalLayers);
      for (let row = 0; row < 24; row++) {
        const one = await b.extract(row, hostDownload);
        expect(all[row]!.len).toBe(one.len);
        all[row]!.data.forEach((d, i) => expect([...d]).toEqual([...one.data[i]!]));
      }
    });
  }

  it('an engine batch of 12 sessions gives what each session alone gives, through joins and leaves', async () => {
    const engine = () => PersonaPlexOnnxEngine.create({ modelDir: bundle.dir, intraOpNumThreads: 1 });
    const n = 12;
    const frames = 5;
    const personas = Array.from({ length: n }, (_, k) => persona({ seed: 100 + k, textPrompt: k % 2 ? 'You are a botanist.' : 'You keep the reactor safe.' }));
    const alone: StepOutput[][] = [];
    const solo = await engine();
    for (const [k, p] of personas.entries()) {
      const s = await solo.open(p);
      const outs: StepOutput[] = [];
      for (let i = 0; i < frames; i++) outs.push((await solo.step([{ session: s, input: userFrame(i, k) }]))[0]!);
      alone.push(outs);
      await solo.close(s);
    }
    await solo.dispose();
    // Together: 8 start, 4 join at tick 2 (rows of different lengths), sessions 1 and 5 leave at tick 3.
    const e = await engine();
    const ids: number[] = [];
    for (let k = 0; k < 8; k++) ids.push(await e.open(personas[k]!));
    const together: StepOutput[][] = personas.map(() => []);
    const pos = new Array<number>(n).fill(0);
    for (let t = 0; t < frames + 2; t++) {
      if (t === 2) for (let k = 8; k < n; k++) ids.push(await e.open(personas[k]!));
      const batch = ids.map((session, k) => ({ session, k })).filter(({ k }) => pos[k]! < frames && !((k === 1 || k === 5) && t >= 3));
      if (!batch.length) break;
      const outs = await e.step(batch.map(({ session, k }) => ({ session, input: userFrame(pos[k]!, k) })));
      batch.forEach(({ k }, j) => {
        together[k]!.push(outs[j]!);
        pos[k]!++;
      });
      if (t === 3) {
        await e.close(ids[1]!);
        await e.close(ids[5]!);
      }
    }
    for (let k = 0; k < n; k++) {
      const got = together[k]!;
      expect(got.length).toBe(k === 1 || k === 5 ? 3 : frames);
      expect(got.map((o) => o.error)).toEqual(got.map(() => undefined));
      expect(got.map((o) => o.text ?? null)).toEqual(alone[k]!.slice(0, got.length).map((o) => o.text ?? null));
      got.forEach((o, i) => expect(o.output.reduce((m, v, j) => Math.max(m, Math.abs(v - alone[k]![i]!.output[j]!)), 0)).toBeLessThan(1e-5));
    }
    await e.dispose();
  });
});

describe('prefill pacing (issue 17)', () => {
  it('lets a prefill run only after a step, sized to the slack the step left', async () => {
    const clock = new FakeClock();
    const pacer = new PrefillPacer({ maxChunk: 256, tickMs: 80, fill: 0.75, now: () => clock.now() });
    expect(await pacer.slot()).toBe(256); // nobody stepping: full chunks
    pacer.stepEnded(20);
    let got: number | undefined;
    const waiting = pacer.slot().then((n) => (got = n));
    await Promise.resolve();
    expect(got).toBeUndefined(); // waits for the end of the next step
    clock.advance(80);
    pacer.stepEnded(20);
    await waiting;
    expect(got).toBe(4); // cost unknown: a small measuring run
    pacer.prefillRan(4, 8); // 2 ms per frame
    const next = pacer.slot();
    clock.advance(80);
    pacer.stepEnded(30);
    expect(await next).toBe(Math.floor((0.75 * 80 - 30) / 2));
  });

  it('a session opening while others step does not stall them: prefill runs interleave with steps, same results', async () => {
    // A 4 ms tick: the tiny bundle's prefill is too cheap to overrun 80 ms, so shrink the budget instead. Long
    // idle and guard times, so a slow step on a loaded machine is not taken for stepping having stopped.
    const e = await PersonaPlexOnnxEngine.create({ modelDir: bundle.dir, intraOpNumThreads: 1, prefillPacing: { tickMs: 4, idleMs: 10_000, guardMs: 10_000 } });
    const p = persona({ seed: 9, textPrompt: 'You are the ship doctor and you speak calmly about every injury you have ever treated.' });
    // Reference: the same persona opened with nobody stepping (one prefill run).
    const ref = await PersonaPlexOnnxEngine.create({ modelDir: bundle.dir, intraOpNumThreads: 1 });
    const rs = await ref.open(p);
    const refOut: StepOutput[] = [];
    for (let i = 0; i < 4; i++) refOut.push((await ref.step([{ session: rs, input: userFrame(i, 3) }]))[0]!);
    await ref.dispose();

    const others = [await e.open(persona({ seed: 1 })), await e.open(persona({ seed: 2 }))];
    let stop = false;
    let steps = 0;
    const loop = (async () => {
      while (!stop) {
        const outs = await e.step(others.map((session, k) => ({ session, input: userFrame(steps, k) })));
        expect(outs.every((o) => !o.error)).toBe(true);
        steps++;
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    while (steps < 2) await new Promise((r) => setTimeout(r, 5));
    const stepsBefore = steps;
    e.pacer.log.length = 0;
    const s = await e.open(p);
    const stepsDuring = steps - stepsBefore;
    stop = true;
    await loop;
    const prefills = e.pacer.log.filter((x) => x.kind === "prefill");
    expect(prefills.length).toBeGreaterThan(1);
    expect(stepsDuring).toBeGreaterThanOrEqual(prefills.length);
    // Every prefill run came right after a step, never two in a row.
    e.pacer.log.forEach((x, i) => x.kind === 'prefill' && i > 0 && expect(e.pacer.log[i - 1]!.kind).toBe('step'));
    const out: StepOutput[] = [];
    for (let i = 0; i < 4; i++) out.push((await e.step([{ session: s, input: userFrame(i, 3) }]))[0]!);
    expect(out.map((o) => o.text ?? null)).toEqual(refOut.map((o) => o.text ?? null));
    out.forEach((o, i) => expect(o.output.reduce((m, v, j) => Math.max(m, Math.abs(v - refOut[i]!.output[j]!)), 0)).toBeLessThan(1e-4));
    await e.dispose();
  });
});

describe('capacity planner (issue 17)', () => {
  it('reads the KV geometry and weights from a full-size export and plans sessions per GPU', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pp-cap-'));
    try {
      await writeHostBundle(dir, { dtype: 'float16', layers: 32 });
      const f = await readExportFacts(dir);
      expect(f.temporal).toEqual({ layers: 32, heads: 32, headDim: 128, bytes: 2 });
      expect(f.depformer).toEqual({ layers: 6, heads: 16, headDim: 64, bytes: 2 });
      expect(kvBytesPerFrame(f.temporal)).toBe(512 * 1024);
      const plan = planCapacity(f, { gpuMemoryGiB: 80, contextFrames: 3000 });
      const per = plan.rows[0]!.perSessionBytes;
      expect(plan.kvFullContext).toBe(3000 * 512 * 1024);
      expect(plan.rows[0]!.sessions).toBe(Math.floor(plan.availableBytes / per));
      expect(plan.rows[1]!.sessions).toBeLessThan(plan.rows[0]!.sessions);
      expect(formatPlan(dir, f, { gpuMemoryGiB: 80 }, plan).join('\n')).toMatch(/512 KiB per session per frame/);

      const out: string[] = [];
      const err: string[] = [];
      const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l), env: {}, cwd: dir };
      expect(await cli(['personaplex', 'capacity', '--onnx-dir', dir, '--gpu-memory', '80'], io)).toBe(0);
      expect(out.join('\n')).toMatch(/→\s+\d+ sessions/);
      expect(await cli(['personaplex', 'capacity', '--onnx-dir', dir, '--gpu-memory', 'lots'], io)).toBe(2);
      expect(err.join('\n')).toMatch(/--gpu-memory must be a positive number/);
      expect(await cli(['personaplex', 'capacity', '--onnx-dir', path.join(dir, 'nope'), '--gpu-memory', '80'], io)).toBe(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('persona snapshots ahead of time (issue 17)', () => {
  it('prepare() builds the snapshot without a session; concurrent opens of one persona share one prefill', async () => {
    const e = await PersonaPlexOnnxEngine.create({ modelDir: bundle.dir, intraOpNumThreads: 1 });
    const p = persona({ seed: 4, textPrompt: 'You run the galley.' });
    await e.prepare(p);
    expect(e.snapshotCount).toBe(1);
    const phases: string[] = [];
    await e.open(p, { onProgress: (x) => phases.push(x.phase) });
    expect(phases).toEqual(['persona snapshot']);
    const q = persona({ seed: 5, textPrompt: 'You fix the radio.' });
    const ran: number[] = [];
    const before = e.pacer.log.length;
    const [a, b] = await Promise.all([e.open(q), e.open({ ...q, seed: 6 })]);
    expect(a).not.toBe(b);
    ran.push(e.pacer.log.slice(before).filter((x) => x.kind === 'prefill').length);
    expect(ran[0]).toBe(1); // one prefill run (nobody stepping: full chunk), not one per open
    expect(e.snapshotCount).toBe(2);
    await e.dispose();
  });
});

describe('fixed step buffers (issue 17)', () => {
  it('a steady batch feeds every run the same input tensors over the same buffers, tick after tick', async () => {
    const e = await PersonaPlexOnnxEngine.create({ modelDir: bundle.dir, intraOpNumThreads: 1, capacity: 4 });
    const ids = [await e.open(persona({ seed: 3 })), await e.open(persona({ seed: 4 }))];
    const seen = new Map<string, ort.Tensor[]>();
    const proto = (ort.InferenceSession as unknown as { prototype: { run: (...a: unknown[]) => Promise<unknown> } }).prototype;
    const original = proto.run;
    proto.run = function (this: unknown, ...args: unknown[]) {
      for (const [name, t] of Object.entries(args[0] as Record<string, ort.Tensor>)) {
        if (name === 'input_frame' || name === 'position_ids' || name === 'prev_token' || name === 'waveform' || name === 'codes') seen.set(name, [...(seen.get(name) ?? []), t]);
      }
      return original.apply(this, args);
    };
    try {
      for (let i = 0; i < 4; i++) {
        const out = await e.step(ids.map((session, j) => ({ session, input: userFrame(i, j) })));
        expect(out.every((o) => !o.error)).toBe(true);
      }
    } finally {
      proto.run = original;
      await e.dispose();
    }
    expect([...seen.keys()].sort()).toEqual(['codes', 'input_frame', 'position_ids', 'prev_token', 'waveform']);
    for (const [name, tensors] of seen) {
      expect(tensors.length, name).toBeGreaterThanOrEqual(4);
      // one tensor object per input (prev_token is rewritten in place between the depformer's substeps)
      expect(new Set(tensors).size, name).toBe(1);
    }
  }, 30_000);
});
