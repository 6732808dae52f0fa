/**
 * Writes a minimal PyTorch `torch.save` zip (pickle protocol 2 + raw storages), the shape of a PersonaPlex
 * voice file: a dict of tensors. A stand-in for files made by real torch, for tests of the reader.
 */
import { crc32 } from 'node:zlib';

export interface FixtureTensor {
  dtype: 'float32' | 'bfloat16' | 'int64';
  shape: number[];
  values: ArrayLike<number>;
}

const STORAGE = { float32: 'FloatStorage', bfloat16: 'BFloat16Storage', int64: 'LongStorage' } as const;

function storageBytes(t: FixtureTensor): Buffer {
  const n = t.values.length;
  if (t.dtype === 'float32') return Buffer.from(Float32Array.from(t.values).buffer);
  if (t.dtype === 'int64') return Buffer.from(BigInt64Array.from(Array.from(t.values, (v) => BigInt(v))).buffer);
  const f = Float32Array.from(t.values);
  const u = new Uint32Array(f.buffer);
  const out = Buffer.alloc(2 * n);
  for (let i = 0; i < n; i++) out.writeUInt16LE(u[i]! >>> 16, 2 * i); // truncate to bf16
  return out;
}

function pickle(entries: [string, FixtureTensor][]): Buffer {
  const b: number[] = [];
  const str = (s: string) => {
    const e = Buffer.from(s, 'utf8');
    b.push(0x58, ...u32(e.length), ...e);
  };
  const int = (v: number) => b.push(0x4a, ...i32(v));
  const global = (m: string, n: string) => b.push(0x63, ...Buffer.from(`${m}\n${n}\n`));
  b.push(0x80, 2, 0x7d, 0x28); // PROTO 2, EMPTY_DICT, MARK
  entries.forEach(([key, t], idx) => {
    str(key);
    global('torch._utils', '_rebuild_tensor_v2');
    b.push(0x28); // MARK (args)
    b.push(0x28); // MARK (persistent id)
    str('storage');
    global('torch', STORAGE[t.dtype]);
    str(String(idx));
    str('cpu');
    int(t.values.length);
    b.push(0x74, 0x51); // TUPLE, BINPERSID
    int(0);
    b.push(0x28);
    t.shape.forEach(int);
    b.push(0x74);
    const stride = t.shape.map((_, d) => t.shape.slice(d + 1).reduce((a, c) => a * c, 1));
    b.push(0x28);
    stride.forEach(int);
    b.push(0x74);
    b.push(0x89); // requires_grad False
    global('collections', 'OrderedDict');
    b.push(0x29, 0x52); // EMPTY_TUPLE, REDUCE
    b.push(0x74, 0x52); // TUPLE, REDUCE
  });
  b.push(0x75, 0x2e); // SETITEMS, STOP
  return Buffer.from(b);
}

function u32(v: number) {
  const x = Buffer.alloc(4);
  x.writeUInt32LE(v);
  return [...x];
}
function i32(v: number) {
  const x = Buffer.alloc(4);
  x.writeInt32LE(v);
  return [...x];
}

/** A stored (uncompressed) zip, as torch writes. */
function zip(files: [string, Buffer][]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of files) {
    const n = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(n.length, 26);
    parts.push(local, n, data);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(data.length, 20);
    c.writeUInt32LE(data.length, 24);
    c.writeUInt16LE(n.length, 28);
    c.writeUInt32LE(offset, 42);
    central.push(c, n);
    offset += 30 + n.length + data.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cd, end]);
}

export function torchSave(tensors: Record<string, FixtureTensor>, root = 'archive'): Buffer {
  const entries = Object.entries(tensors);
  return zip([
    [`${root}/data.pkl`, pickle(entries)],
    [`${root}/byteorder`, Buffer.from('little')],
    ...entries.map(([, t], i) => [`${root}/data/${i}`, storageBytes(t)] as [string, Buffer]),
    [`${root}/version`, Buffer.from('3\n')],
  ]);
}
