/**
 * Just enough protobuf to read facts out of an ONNX file without loading it through onnxruntime (which would
 * place gigabytes of weights): one level of fields at a time, length-delimited fields as views into the buffer.
 */
export interface ProtoField {
  /** the field number */
  num: number;
  /** a varint field's value */
  value?: number;
  /** a length-delimited field's bytes (a view, not a copy) */
  bytes?: Uint8Array;
}

/** The fields of one message level. Fixed-width fields are skipped; groups do not occur in ONNX. */
export function protoFields(buf: Uint8Array): ProtoField[] {
  const out: ProtoField[] = [];
  const at = { i: 0 };
  while (at.i < buf.length) {
    const key = varintAt(buf, at);
    const num = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) out.push({ num, value: varintAt(buf, at) });
    else if (wire === 2) {
      const len = varintAt(buf, at);
      out.push({ num, bytes: buf.subarray(at.i, at.i + len) });
      at.i += len;
    } else if (wire === 1) at.i += 8;
    else if (wire === 5) at.i += 4;
    else throw new Error(`unsupported protobuf wire type ${wire} in ONNX file`);
  }
  return out;
}

/** A packed repeated varint field (e.g. TensorProto.dims written packed). */
export function packedVarints(bytes: Uint8Array): number[] {
  const out: number[] = [];
  const at = { i: 0 };
  while (at.i < bytes.length) out.push(varintAt(bytes, at));
  return out;
}

/** Plain numbers, not BigInt: ONNX sizes and offsets stay far below 2^53. */
function varintAt(buf: Uint8Array, at: { i: number }): number {
  let v = 0;
  let mul = 1;
  for (;;) {
    const b = buf[at.i++];
    if (b === undefined) throw new Error('truncated protobuf varint in ONNX file');
    v += (b & 0x7f) * mul;
    if (b < 0x80) return v;
    mul *= 128;
  }
}
