/**
 * The temporal KV cache's traffic (issue 17), no GPU needed:
 *
 * 1. Join/leave at 32 sessions with full-context KV shapes ([32, 32 heads, 3000, 128] fp16 per tensor): the
 *    rebuild takes every row out of the batch and builds a new one. Old path: one download of the whole
 *    batch tensor per row (B × 2 × layers downloads; on WebGPU each is a full GPU → host read); new path:
 *    one per tensor. Measured on 1 layer (K and V, 1.5 GiB of batch) because 32 layers at 32 sessions is
 *    48 GiB, more than this machine has; downloads and bytes scale by 32 for the 7B, the copy time linearly.
 * 2. KV bytes crossing the ONNX Runtime boundary per tick, measured on the CPU path with the host-bundle
 *    stand-in (full head geometry, 1 layer) by summing the past inputs and present outputs of each temporal
 *    run, against the per-provider model in capacity.ts (kvTrafficPerTick), which then gives the full-size
 *    figures at 8/32/64 sessions and 3000 frames.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { TemporalBatch, hostDownload, type CompactKv, type Download } from '../server/engines/personaplex-onnx/temporal-kv.ts';
import type { Geometry } from '../server/engines/personaplex-onnx/graphs.ts';
import { depTrafficPerTick, kvBytesPerFrame, kvTrafficPerTick } from '../server/engines/personaplex-onnx/capacity.ts';
import { PersonaPlexOnnxEngine } from '../server/engines/personaplex-onnx/engine.ts';
import { FULL_SIZE, writeHostBundle } from '../tests/personaplex-onnx/host-bundle.ts';
import { wav16, voiceClip } from '../tests/personaplex-onnx/helpers.ts';
import { FRAME_SAMPLES } from '../protocol/frame.ts';

const GiB = 2 ** 30;

export async function joinLeave(B: number, context: number, layers = 1): Promise<Record<string, number>> {
  const g = { temporalLayers: layers, temporalHeads: FULL_SIZE.heads, temporalHeadDim: FULL_SIZE.headDim, temporalKvType: 'float16' } as Geometry;
  const per = g.temporalHeads * context * g.temporalHeadDim;
  const caches: CompactKv[] = Array.from({ length: B }, (_, b) => ({ len: context, data: Array.from({ length: 2 * layers }, () => new Uint16Array(per).fill(0x3c00 + b)) }));
  const batch = new TemporalBatch(g, 'gqa', context + 1);
  batch.build(caches.map((_, i) => i + 1), caches);
  caches.length = 0; // the batch holds the only copy, as in the engine
  let downloads = 0;
  let bytes = 0;
  const counting: Download = async (t) => {
    downloads++;
    bytes += (t.data as Uint16Array).byteLength;
    return hostDownload(t);
  };
  // Old path: extract(row) per row, each reading the whole tensor.
  let t0 = performance.now();
  for (let row = 0; row < B; row++) await batch.extract(row, counting);
  const oldMs = performance.now() - t0;
  const old = { downloads, bytes };
  downloads = 0;
  bytes = 0;
  // New path: extractAll, then the rebuild without one session (a leave).
  t0 = performance.now();
  const all = await batch.extractAll(counting);
  const extractMs = performance.now() - t0;
  t0 = performance.now();
  batch.build(all.slice(1).map((_, i) => i + 2), all.slice(1) as CompactKv[]);
  const buildMs = performance.now() - t0;
  batch.clear();
  process.stderr.write(
    `  join/leave at ${B} sessions × ${context} frames, ${layers} layer(s) fp16: old ${old.downloads} downloads (${(old.bytes / GiB).toFixed(1)} GiB) in ${oldMs.toFixed(0)} ms; new ${downloads} downloads (${(bytes / GiB).toFixed(2)} GiB), extract ${extractMs.toFixed(0)} ms + rebuild ${buildMs.toFixed(0)} ms\n`,
  );
  return {
    [`personaplex_onnx_kv_leave_b${B}_old_downloads_per_layer`]: old.downloads / layers,
    [`personaplex_onnx_kv_leave_b${B}_old_gib_per_layer`]: Number((old.bytes / GiB / layers).toFixed(2)),
    [`personaplex_onnx_kv_leave_b${B}_old_extract_ms_per_layer`]: Number((oldMs / layers).toFixed(1)),
    [`personaplex_onnx_kv_leave_b${B}_new_downloads_per_layer`]: downloads / layers,
    [`personaplex_onnx_kv_leave_b${B}_new_gib_per_layer`]: Number((bytes / GiB / layers).toFixed(3)),
    [`personaplex_onnx_kv_leave_b${B}_new_extract_ms_per_layer`]: Number((extractMs / layers).toFixed(1)),
    [`personaplex_onnx_kv_leave_b${B}_rebuild_ms_per_layer`]: Number((buildMs / layers).toFixed(1)),
  };
}

/** Measured KV bytes through the binding per tick on the CPU path, against the model's figure. */
export async function measuredTraffic(B: number, ticks: number): Promise<{ measured: number; modelled: number }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pp-kv-bench-'));
  const proto = (ort.InferenceSession as unknown as { prototype: unknown }).prototype as { run: (...a: unknown[]) => Promise<Record<string, ort.Tensor>> };
  const original = proto.run;
  let moved = 0;
  let P = 0;
  try {
    await writeHostBundle(dir, { dtype: 'float16', layers: 1 });
    await mkdir(path.join(dir, 'voices'));
    await writeFile(path.join(dir, 'voices', 'NATF0.wav'), wav16(voiceClip(0.5, 180)));
    const engine = await PersonaPlexOnnxEngine.create({ modelDir: dir, capacity: B, intraOpNumThreads: 1, prefetch: false });
    const ids: number[] = [];
    for (let i = 0; i < B; i++) ids.push(await engine.open({ id: 'kv', name: 'kv', textPrompt: 'Hello there.', voice: { kind: 'builtin', id: 'NATF0' }, seed: i + 1 } as never));
    const input = new Float32Array(FRAME_SAMPLES);
    await engine.step(ids.map((session) => ({ session, input })));
    proto.run = async function (this: unknown, ...args: unknown[]) {
      const feeds = args[0] as Record<string, ort.Tensor>;
      const r = await original.apply(this, args);
      if (!('input_frame' in feeds)) return r;
      for (const [n, t] of Object.entries(feeds)) if (n.startsWith('past_key_values.')) moved += (t.data as Uint16Array).byteLength;
      for (const [n, t] of Object.entries(r)) if (n.startsWith('present.')) moved += (t.data as Uint16Array).byteLength;
      P = (feeds['past_key_values.0.key']!.dims[2] as number) + 1;
      return r;
    };
    for (let t = 0; t < ticks; t++) await engine.step(ids.map((session) => ({ session, input })));
    proto.run = original;
    await engine.dispose();
    const g = { layers: 1, heads: FULL_SIZE.heads, headDim: FULL_SIZE.headDim, bytes: 2 };
    // The model's host figure for the last tick's context, against the measured mean (context grows 1/tick).
    const modelled = kvTrafficPerTick(g, B, P - 1 - (ticks - 1) / 2)[0]!.hostBytes;
    return { measured: moved / ticks, modelled };
  } finally {
    proto.run = original;
    await rm(dir, { recursive: true, force: true });
  }
}

export default async function bench(): Promise<Record<string, number>> {
  const out: Record<string, number> = { ...(await joinLeave(32, 3000)) };
  const m = await measuredTraffic(8, 10);
  process.stderr.write(`  CPU path, 8 sessions, 1 layer: ${(m.measured / 2 ** 20).toFixed(1)} MiB of KV through the binding per tick, model says ${(m.modelled / 2 ** 20).toFixed(1)} MiB\n`);
  out.personaplex_onnx_kv_cpu_b8_1layer_measured_mib_per_tick = Number((m.measured / 2 ** 20).toFixed(2));
  out.personaplex_onnx_kv_cpu_b8_1layer_model_mib_per_tick = Number((m.modelled / 2 ** 20).toFixed(2));
  const full = { layers: FULL_SIZE.layers, heads: FULL_SIZE.heads, headDim: FULL_SIZE.headDim, bytes: 2 };
  out.personaplex_onnx_kv_7b_fp16_kib_per_session_frame = kvBytesPerFrame(full) / 1024;
  const dep = { layers: FULL_SIZE.depLayers, heads: FULL_SIZE.depHeads, headDim: FULL_SIZE.depHeadDim, bytes: 2 };
  for (const B of [8, 32, 64]) {
    out[`personaplex_onnx_kv_7b_b${B}_depformer_host_mib_per_tick`] = Number((depTrafficPerTick(dep, B) / 2 ** 20).toFixed(1));
    for (const row of kvTrafficPerTick(full, B, 3000)) {
      const key = row.path.split(' ')[0]!.replace(/[^a-z]/gi, '').toLowerCase() + (row.path.includes('GQA') ? '' : row.path.includes('concat graph') ? '_concat' : '');
      out[`personaplex_onnx_kv_7b_b${B}_${key}_host_gib_per_tick`] = Number((row.hostBytes / GiB).toFixed(2));
      out[`personaplex_onnx_kv_7b_b${B}_${key}_device_gib_per_tick`] = Number((row.deviceBytes / GiB).toFixed(2));
    }
  }
  return out;
}
