/**
 * rope-tables.ts on tables a mobius fp16 GroupQueryAttention build ships (float16 cos/sin, as its query type): the
 * frequencies come back from the rounded rows, the rows are extended in float16, and local_window_size is set.
 * The float32 tables and the re-basing itself are proven against NVIDIA's code in reference/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create, fromBinary } from '@bufbuild/protobuf';
import { AttributeProtoSchema, AttributeProto_AttributeType, ModelProtoSchema, NodeProtoSchema, TensorProtoSchema, TensorProto_DataType } from 'onnx-buf';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { model, valueInfo } from '../../server/engines/personaplex-onnx/post-graphs.ts';
import { extendRopeTables, ropeRows } from '../../server/engines/personaplex-onnx/rope-tables.ts';
import { floatToHalf, halfToFloat } from '../../server/engines/personaplex-onnx/half.ts';

const ROWS = 500;
const HD = 16;
// the reference's frequencies: exp(i · -ln(10000) · 2 / D) in float32
const FREQ = Float64Array.from({ length: HD / 2 }, (_, i) => Math.fround(Math.exp(Math.fround(i * Math.fround((-Math.log(10000) * 2) / HD)))));

function halfTable(name: string, values: Float32Array) {
  return create(TensorProtoSchema, { name, dims: [BigInt(ROWS), BigInt(HD / 2)], dataType: TensorProto_DataType.FLOAT16, rawData: new Uint8Array(Uint16Array.from(values, floatToHalf).buffer) });
}

describe('rotary tables of an fp16 GroupQueryAttention build', () => {
  let dir: string;
  let file: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pp-rope-'));
    file = path.join(dir, 'model.onnx');
    const rows = ropeRows(FREQ, 0, ROWS);
    const gqa = create(NodeProtoSchema, {
      opType: 'GroupQueryAttention',
      domain: 'com.microsoft',
      input: ['q', 'k', 'v', 'pk', 'pv', 'seqlens', 'total', 'model.rotary_emb.cos_cache', 'model.rotary_emb.sin_cache'],
      output: ['out', 'present_k', 'present_v'],
      attribute: [create(AttributeProtoSchema, { name: 'local_window_size', type: AttributeProto_AttributeType.INT, i: 3000n })],
    });
    const bytes = model('rope16', {
      node: [gqa],
      initializer: [halfTable('model.rotary_emb.cos_cache', rows.cos), halfTable('model.rotary_emb.sin_cache', rows.sin)],
      input: [valueInfo('q', TensorProto_DataType.FLOAT16, [1, 1, HD])],
      output: [valueInfo('out', TensorProto_DataType.FLOAT16, [1, 1, HD])],
    });
    await writeFile(file, bytes);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('recovers the float32 frequencies, extends the rows in float16 and sets the window', async () => {
    const r = await extendRopeTables(file, 1200, 2999);
    expect(r.original).toBe(ROWS);
    expect(r.positions).toBe(1200);
    // From float16 rows the frequencies are not bit-exact (a least-squares fit over the rows); what
    // matters is the angle they give: at the last new row (1199) under 5e-5 rad, a fifth of the float16 rounding
    // (2.4e-4) every row carries anyway.
    const angle = Math.max(...r.freq!.map((f, i) => Math.abs(f - FREQ[i]!) * 1199));
    expect(angle).toBeLessThan(5e-5);
    console.log(`[rope] fp16 tables: angle error at row 1199 from the recovered frequencies ${angle.toExponential(2)} rad`);
    expect(r.gqaWindow).toEqual({ from: 3000, to: 2999 });
    const m = fromBinary(ModelProtoSchema, await readFile(r.file));
    const cos = m.graph!.initializer.find((t) => t.name === 'model.rotary_emb.cos_cache')!;
    expect(cos.dataType).toBe(TensorProto_DataType.FLOAT16);
    expect(cos.dims.map(Number)).toEqual([1200, HD / 2]);
    const got = new Uint16Array(Uint8Array.from(cos.rawData).buffer);
    const want = ropeRows(FREQ, 0, 1200).cos;
    let worst = 0;
    for (let j = 0; j < want.length; j++) worst = Math.max(worst, Math.abs(halfToFloat(got[j]!) - want[j]!));
    expect(worst).toBeLessThan(5e-4); // one float16 rounding (≤ 2.4e-4 below 1) plus the frequency's error at row 1199
    expect(Array.from(got.subarray(0, ROWS * (HD / 2)))).toEqual(Array.from(want.subarray(0, ROWS * (HD / 2)), floatToHalf)); // shipped rows kept
    expect(Number(m.graph!.node[0]!.attribute.find((a) => a.name === 'local_window_size')!.i)).toBe(2999);
  });

  it('floatToHalf rounds to nearest even, as numpy and onnxruntime cast', () => {
    expect(floatToHalf(1)).toBe(0x3c00);
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // halfway: even
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02); // halfway: even (up)
    expect(floatToHalf(65520)).toBe(0x7c00); // overflows to infinity
    expect(floatToHalf(2 ** -25)).toBe(0); // halfway to the smallest subnormal: even (0)
    expect(floatToHalf(3 * 2 ** -25)).toBe(2);
    expect(floatToHalf(-2.5)).toBe(0xc100);
    for (const v of [0.1, -3.14159, 1e-5, 6e-8, 1234.5]) expect(Math.abs(halfToFloat(floatToHalf(v)) - v)).toBeLessThanOrEqual(Math.max(Math.abs(v) * 2 ** -11, 2 ** -25));
  });
});
