/**
 * How many sessions of a mobius PersonaPlex export fit on one GPU at full context, read from the export
 * itself without loading its weights: the graph inputs (KV layers, heads, head size, dtype) come from the
 * model.onnx protobuf, the weight bytes from the files in each graph folder. Also the KV bytes each provider
 * path moves per tick (docs/personaplex-onnx.md §5).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { GRAPH_NAMES, type GraphName } from './constants.ts';
import { detectKvLayout, graphFile } from './graphs.ts';
import { protoFields } from './onnx-protobuf.ts';

const ELEM_BYTES: Record<number, number> = { 1: 4, 10: 2, 16: 2, 11: 8, 7: 8 };

export interface KvGeometry {
  layers: number;
  heads: number;
  headDim: number;
  bytes: number;
}

export interface ExportFacts {
  temporal: KvGeometry;
  depformer: KvGeometry;
  /** bytes of each graph's files (model + external data) */
  weights: Record<GraphName, number>;
  layout: 'gqa' | 'concat';
}

/** Graph inputs of an ONNX model: name → [elem_type, dims (number, or the symbolic name)]. */
export function graphInputs(model: Uint8Array): Map<string, { elemType: number; dims: (number | string)[] }> {
  const out = new Map<string, { elemType: number; dims: (number | string)[] }>();
  const graph = protoFields(model).find((f) => f.num === 7);
  if (!graph?.bytes) throw new Error('not an ONNX model: no graph');
  for (const f of protoFields(graph.bytes)) {
    if (f.num !== 11 || !f.bytes) continue; // GraphProto.input: ValueInfoProto
    const vi = protoFields(f.bytes);
    const name = new TextDecoder().decode(vi.find((x) => x.num === 1)?.bytes);
    const tensor = protoFields(protoFields(vi.find((x) => x.num === 2)?.bytes ?? new Uint8Array()).find((x) => x.num === 1)?.bytes ?? new Uint8Array());
    const elemType = tensor.find((x) => x.num === 1)?.value ?? 0;
    const shape = tensor.find((x) => x.num === 2)?.bytes;
    const dims = shape
      ? protoFields(shape)
          .filter((d) => d.num === 1)
          .map((d) => {
            const dim = protoFields(d.bytes!);
            const v = dim.find((x) => x.num === 1);
            return v ? v.value! : new TextDecoder().decode(dim.find((x) => x.num === 2)?.bytes ?? new Uint8Array());
          })
      : [];
    out.set(name, { elemType, dims });
  }
  return out;
}

function kvGeometry(inputs: ReturnType<typeof graphInputs>, graph: string): KvGeometry {
  let layers = 0;
  while (inputs.has(`past_key_values.${layers}.key`)) layers++;
  const k0 = inputs.get('past_key_values.0.key');
  if (!k0 || layers === 0) throw new Error(`${graph}: no past_key_values.0.key input; is this a mobius PersonaPlex export?`);
  const [, heads, , headDim] = k0.dims;
  if (typeof heads !== 'number' || typeof headDim !== 'number') throw new Error(`${graph}: KV heads and head size must be fixed, found [${k0.dims.join(', ')}]`);
  const bytes = ELEM_BYTES[k0.elemType];
  if (!bytes) throw new Error(`${graph}: KV element type ${k0.elemType} is not a float type`);
  return { layers, heads, headDim, bytes };
}

async function folderBytes(file: string): Promise<number> {
  if (path.basename(file) !== 'model.onnx') return (await stat(file)).size;
  const dir = path.dirname(file);
  let total = 0;
  for (const n of await readdir(dir)) total += (await stat(path.join(dir, n))).size;
  return total;
}

export async function readExportFacts(modelDir: string): Promise<ExportFacts> {
  const weights = {} as Record<GraphName, number>;
  for (const g of GRAPH_NAMES) weights[g] = await folderBytes(await graphFile(modelDir, g));
  const temporal = kvGeometry(graphInputs(await readFile(await graphFile(modelDir, 'temporal'))), 'temporal');
  const depformer = kvGeometry(graphInputs(await readFile(await graphFile(modelDir, 'depformer'))), 'depformer');
  return { temporal, depformer, weights, layout: await detectKvLayout(modelDir) };
}

/** KV bytes of one session per frame of context (all layers, K and V). */
export function kvBytesPerFrame(g: KvGeometry): number {
  return 2 * g.layers * g.heads * g.headDim * g.bytes;
}

export interface PlanOptions {
  gpuMemoryGiB: number;
  contextFrames?: number;
  /** left for the CUDA/WebGPU context, ORT arenas and activations (default 4 GiB) */
  reserveGiB?: number;
  /** Mimi windows re-run per session per tick (default 8) */
  mimiWindowFrames?: number;
}

export interface PlanRow {
  path: string;
  perSessionBytes: number;
  sessions: number;
  note: string;
}

export interface Plan {
  weightsBytes: number;
  availableBytes: number;
  kvPerFrame: number;
  kvFullContext: number;
  mimiPerSession: number;
  rows: PlanRow[];
}

const GiB = 2 ** 30;

/**
 * Sessions that fit at full context. The concat layout (mobius non-GQA builds, and any build fed through host
 * memory) holds past and present at once during a run: twice the KV. A GQA build with a shared past/present
 * buffer holds it once. Mimi per session: the rolling windows and their activations (an estimate: the
 * encoder and decoder re-run 8 frames of 1,920 samples; 64 channels × 4 bytes per sample is the widest
 * activation of Mimi's SEANet).
 */
export function planCapacity(f: ExportFacts, o: PlanOptions): Plan {
  const context = o.contextFrames ?? 3000;
  const W = o.mimiWindowFrames ?? 8;
  const weightsBytes = Object.values(f.weights).reduce((a, b) => a + b, 0);
  const availableBytes = Math.max(0, (o.gpuMemoryGiB - (o.reserveGiB ?? 4)) * GiB - weightsBytes);
  const kvPerFrame = kvBytesPerFrame(f.temporal);
  const kvFullContext = kvPerFrame * context;
  const depKv = 2 * f.depformer.layers * f.depformer.heads * 16 * f.depformer.headDim * f.depformer.bytes * 2;
  const mimiPerSession = 2 * W * 1920 * 64 * 4;
  const fit = (per: number) => Math.floor(availableBytes / per);
  const shared = kvFullContext + depKv + mimiPerSession;
  const concat = 2 * kvFullContext + depKv + mimiPerSession;
  return {
    weightsBytes,
    availableBytes,
    kvPerFrame,
    kvFullContext,
    mimiPerSession,
    rows: [
      { path: 'GQA, shared past/present buffer', perSessionBytes: shared, sessions: fit(shared), note: 'KV held once; needs device IO binding' },
      { path: 'concat (past + present at once)', perSessionBytes: concat, sessions: fit(concat), note: 'mobius non-GQA builds; WebGPU gpu-buffer outputs' },
    ],
  };
}

export function formatPlan(modelDir: string, f: ExportFacts, o: PlanOptions, p: Plan): string[] {
  const gib = (b: number) => `${(b / GiB).toFixed(2)} GiB`;
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  const t = f.temporal;
  return [
    `PersonaPlex export ${modelDir} (KV layout detected: ${f.layout})`,
    `  temporal KV: ${t.layers} layers × ${t.heads} heads × ${t.headDim} × ${t.bytes * 8}-bit = ${(p.kvPerFrame / 1024).toFixed(0)} KiB per session per frame`,
    `  full context ${o.contextFrames ?? 3000} frames: ${gib(p.kvFullContext)} per session; Mimi windows ≈ ${mib(p.mimiPerSession)} per session (estimate)`,
    `  weights: ${GRAPH_NAMES.map((g) => `${g} ${gib(f.weights[g])}`).join(', ')} = ${gib(p.weightsBytes)}`,
    `  GPU ${o.gpuMemoryGiB} GiB − ${o.reserveGiB ?? 4} GiB reserve − weights = ${gib(p.availableBytes)} for sessions`,
    ...p.rows.map((r) => `  ${r.path.padEnd(34)} ${gib(r.perSessionBytes).padStart(11)} per session → ${String(r.sessions).padStart(4)} sessions  (${r.note})`),
  ];
}

/** KV bytes one tick moves at B sessions and `context` frames, per provider path (see the docs). */
export function kvTrafficPerTick(g: KvGeometry, B: number, context: number): { path: string; hostBytes: number; deviceBytes: number }[] {
  const perFrame = kvBytesPerFrame(g);
  const kv = B * perFrame * context;
  const slot = B * perFrame;
  return [
    { path: 'cpu (concat, host memory)', hostBytes: 2 * kv + slot, deviceBytes: 0 },
    { path: 'cuda (no IO binding in Node: KV crosses PCIe)', hostBytes: 2 * kv + slot, deviceBytes: 2 * kv + slot },
    { path: 'webgpu gpu-buffer, concat graph', hostBytes: 0, deviceBytes: 2 * kv + slot },
    { path: 'GQA shared buffer + IO binding', hostBytes: 0, deviceBytes: slot },
  ];
}

/**
 * Depformer KV bytes through the binding per tick at B sessions when present.* come back to the host (CPU,
 * CUDA): each of the `substeps` runs reads the past (cb slots) and returns the present (cb + 1 slots).
 */
export function depTrafficPerTick(g: KvGeometry, B: number, substeps = 8): number {
  let slots = 0;
  for (let cb = 0; cb < substeps; cb++) slots += cb + (cb + 1);
  return slots * kvBytesPerFrame(g) * B;
}
