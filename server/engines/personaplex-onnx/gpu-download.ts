/**
 * Reading a WebGPU-resident tensor back to the host. In onnxruntime-node, `getData()` on a 'gpu-buffer' tensor
 * aborts the process, so the batch's KV is read by running it through an Identity graph whose output is bound
 * to the CPU. Only needed when the batch is rebuilt (a session joins or leaves) or a persona snapshot is taken.
 */
import * as ort from 'onnxruntime-node';
import type { Download, KvArray } from './temporal-kv.ts';

/** ONNX model bytes: y = Identity(x), x and y rank-4 tensors of `elemType` (1 float, 10 float16). */
export function identityModel(elemType: number): Uint8Array {
  const bytes: number[] = [];
  const varint = (out: number[], v: number) => {
    while (v >= 0x80) {
      out.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(v);
  };
  const field = (out: number[], num: number, payload: number[] | string | number) => {
    if (typeof payload === 'number') {
      varint(out, num * 8);
      varint(out, payload);
      return;
    }
    const data = typeof payload === 'string' ? [...new TextEncoder().encode(payload)] : payload;
    varint(out, num * 8 + 2);
    varint(out, data.length);
    out.push(...data);
  };
  const valueInfo = (name: string) => {
    const shape: number[] = [];
    for (const d of ['a', 'b', 'c', 'd']) {
      const dim: number[] = [];
      field(dim, 2, d); // dim_param
      field(shape, 1, dim);
    }
    const tensor: number[] = [];
    field(tensor, 1, elemType);
    field(tensor, 2, shape);
    const type: number[] = [];
    field(type, 1, tensor);
    const vi: number[] = [];
    field(vi, 1, name);
    field(vi, 2, type);
    return vi;
  };
  const node: number[] = [];
  field(node, 1, 'x');
  field(node, 2, 'y');
  field(node, 4, 'Identity');
  const graph: number[] = [];
  field(graph, 1, node);
  field(graph, 2, 'download');
  field(graph, 11, valueInfo('x'));
  field(graph, 12, valueInfo('y'));
  const opset: number[] = [];
  field(opset, 1, '');
  field(opset, 2, 17);
  field(bytes, 1, 8); // ir_version
  field(bytes, 8, opset);
  field(bytes, 7, graph);
  return Uint8Array.from(bytes);
}

export async function webgpuDownload(kvType: 'float32' | 'float16'): Promise<{ download: Download; release: () => Promise<void> }> {
  const session = await ort.InferenceSession.create(identityModel(kvType === 'float16' ? 10 : 1), {
    executionProviders: ['webgpu'],
    preferredOutputLocation: 'cpu',
  });
  return {
    download: async (t) => {
      if (t.location !== 'gpu-buffer') return t.data as KvArray;
      const r = await session.run({ x: t });
      return r.y!.data as KvArray;
    },
    release: () => session.release(),
  };
}
