/**
 * Small ONNX graphs the engine runs on the model's provider right after a model graph, over its outputs, so that
 * only what the host needs crosses to it (on WebGPU those outputs stay on the device as gpu-buffer tensors):
 * the top-k of the logits (device-top-k.ts) and the newest frame of the Mimi decoder's window (mimi-stream.ts).
 */
import { create, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProtoSchema,
  AttributeProto_AttributeType,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  TensorProtoSchema,
  TensorProto_DataType,
  TypeProtoSchema,
  ValueInfoProtoSchema,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from 'onnx-buf';

export { TensorProto_DataType as OnnxType };

export function valueInfo(name: string, elemType: number, shape: (number | string)[]): ValueInfoProto {
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, {
      value: {
        case: 'tensorType',
        value: {
          elemType,
          shape: { dim: shape.map((d) => (typeof d === 'number' ? { value: { case: 'dimValue', value: BigInt(d) } } : { value: { case: 'dimParam', value: d } })) },
        } as never,
      },
    }),
  });
}

export function node(opType: string, input: string[], output: string[], ints: Record<string, number> = {}): NodeProto {
  return create(NodeProtoSchema, {
    opType,
    input,
    output,
    name: `${opType}_${output[0]}`,
    attribute: Object.entries(ints).map(([name, i]) => create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INT, i: BigInt(i) })),
  });
}

export function int64s(name: string, values: number[]): TensorProto {
  const data = BigInt64Array.from(values, BigInt);
  return create(TensorProtoSchema, { name, dims: [BigInt(values.length)], dataType: TensorProto_DataType.INT64, rawData: new Uint8Array(data.buffer) });
}

export function model(name: string, parts: { node: NodeProto[]; initializer: TensorProto[]; input: ValueInfoProto[]; output: ValueInfoProto[] }): Uint8Array {
  const graph = create(GraphProtoSchema, { name, ...parts });
  return toBinary(ModelProtoSchema, create(ModelProtoSchema, { irVersion: 8n, producerName: 'parley', opsetImport: [{ domain: '', version: 17n } as never], graph }));
}
