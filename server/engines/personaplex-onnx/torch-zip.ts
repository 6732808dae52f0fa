/**
 * Reads tensors from a PyTorch `torch.save` file (the zip format: `<root>/data.pkl` is a pickle whose tensors
 * point, through persistent ids, at raw little-endian storages `<root>/data/<key>`). Enough of the pickle
 * machine for dicts, lists, tuples, numbers, strings and `torch._utils._rebuild_tensor_v2`; nothing is
 * executed, and any other global is refused. Used for PersonaPlex voice files: `{"embeddings": [N,1,1,4096],
 * "cache": [1,17,4] int64}`.
 */
import { inflateRawSync } from 'node:zlib';
import { halfToFloat } from './half.ts';

export interface TorchTensor {
  dtype: 'float32' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'float64';
  shape: number[];
  /** values as plain numbers (int64 as Number; voice caches hold small token ids) */
  toFloat32(): Float32Array;
  toNumbers(): number[];
}

// ---------------------------------------------------------------------------------------------------------
// zip

interface ZipEntry {
  name: string;
  data: () => Buffer;
}

export function readZip(buf: Buffer): Map<string, ZipEntry> {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65557); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip file (no end of central directory): is this a torch.save file?');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  if (p === 0xffffffff) throw new Error('zip64 archives are not supported (voice files are small)');
  const out = new Map<string, ZipEntry>();
  for (let n = 0; n < count; n++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error('corrupt zip central directory');
    const method = buf.readUInt16LE(p + 10);
    const csize = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    p += 46 + nameLen + extraLen + commentLen;
    out.set(name, {
      name,
      data: () => {
        if (buf.readUInt32LE(local) !== 0x04034b50) throw new Error(`corrupt zip entry ${name}`);
        const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
        const raw = buf.subarray(start, start + csize);
        if (method === 0) return raw;
        if (method === 8) return inflateRawSync(raw);
        throw new Error(`zip entry ${name} uses unsupported compression ${method}`);
      },
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// pickle

class Global {
  constructor(readonly module: string, readonly name: string) {}
  get full() {
    return `${this.module}.${this.name}`;
  }
}

interface StorageRef {
  storage: true;
  dtype: TorchTensor['dtype'];
  key: string;
  numel: number;
}

const STORAGE_TYPES: Record<string, TorchTensor['dtype']> = {
  FloatStorage: 'float32',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  DoubleStorage: 'float64',
};

const ALLOWED_GLOBALS = new Set(['torch._utils._rebuild_tensor_v2', 'collections.OrderedDict', ...Object.keys(STORAGE_TYPES).map((s) => `torch.${s}`)]);

const MARK = Symbol('mark');

function unpickle(buf: Buffer, loadStorage: (ref: StorageRef) => Buffer): unknown {
  let i = 0;
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  const popMark = (): unknown[] => {
    const at = stack.lastIndexOf(MARK);
    if (at < 0) throw new Error('pickle: mark not found');
    const items = stack.splice(at);
    items.shift();
    return items;
  };
  const readStr = (n: number) => {
    const s = buf.toString('utf8', i, i + n);
    i += n;
    return s;
  };
  const call = (fn: unknown, args: unknown[]): unknown => {
    if (!(fn instanceof Global)) throw new Error('pickle: REDUCE on a non-global');
    if (fn.full === 'collections.OrderedDict') return new Map();
    if (fn.full === 'torch._utils._rebuild_tensor_v2') {
      const [storage, offset, size, stride] = args as [StorageRef, number, number[], number[]];
      return makeTensor(storage, loadStorage(storage), offset, size, stride);
    }
    throw new Error(`pickle: refusing to call ${fn.full}`);
  };
  for (;;) {
    if (i >= buf.length) throw new Error('pickle: truncated');
    const op = buf[i++]!;
    switch (op) {
      case 0x80: i++; break; // PROTO
      case 0x95: i += 8; break; // FRAME
      case 0x2e: return stack.pop(); // STOP
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x28: stack.push(MARK); break; // MARK
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4b: stack.push(buf[i++]!); break; // BININT1
      case 0x4d: stack.push(buf.readUInt16LE(i)); i += 2; break; // BININT2
      case 0x4a: stack.push(buf.readInt32LE(i)); i += 4; break; // BININT
      case 0x8a: { // LONG1
        const n = buf[i++]!;
        let v = 0n;
        for (let k = n - 1; k >= 0; k--) v = (v << 8n) | BigInt(buf[i + k]!);
        if (n > 0 && buf[i + n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
        i += n;
        stack.push(Number(v));
        break;
      }
      case 0x47: stack.push(buf.readDoubleBE(i)); i += 8; break; // BINFLOAT
      case 0x58: { const n = buf.readUInt32LE(i); i += 4; stack.push(readStr(n)); break; } // BINUNICODE
      case 0x8c: { const n = buf[i++]!; stack.push(readStr(n)); break; } // SHORT_BINUNICODE
      case 0x54: { const n = buf.readUInt32LE(i); i += 4; stack.push(readStr(n)); break; } // BINSTRING
      case 0x55: { const n = buf[i++]!; stack.push(readStr(n)); break; } // SHORT_BINSTRING
      case 0x63: { // GLOBAL
        const nl1 = buf.indexOf(0x0a, i);
        const module = buf.toString('utf8', i, nl1);
        const nl2 = buf.indexOf(0x0a, nl1 + 1);
        const name = buf.toString('utf8', nl1 + 1, nl2);
        i = nl2 + 1;
        const g = new Global(module, name);
        if (!ALLOWED_GLOBALS.has(g.full)) throw new Error(`pickle: unsupported global ${g.full}`);
        stack.push(g);
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = stack.pop() as string;
        const module = stack.pop() as string;
        const g = new Global(module, name);
        if (!ALLOWED_GLOBALS.has(g.full)) throw new Error(`pickle: unsupported global ${g.full}`);
        stack.push(g);
        break;
      }
      case 0x71: memo.set(buf[i++]!, stack[stack.length - 1]); break; // BINPUT
      case 0x72: memo.set(buf.readUInt32LE(i), stack[stack.length - 1]); i += 4; break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, stack[stack.length - 1]); break; // MEMOIZE
      case 0x68: stack.push(memo.get(buf[i++]!)); break; // BINGET
      case 0x6a: stack.push(memo.get(buf.readUInt32LE(i))); i += 4; break; // LONG_BINGET
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x85: stack.push([stack.pop()]); break; // TUPLE1
      case 0x86: { const b = stack.pop(); const a = stack.pop(); stack.push([a, b]); break; } // TUPLE2
      case 0x87: { const c = stack.pop(); const b = stack.pop(); const a = stack.pop(); stack.push([a, b, c]); break; } // TUPLE3
      case 0x61: { const v = stack.pop(); (stack[stack.length - 1] as unknown[]).push(v); break; } // APPEND
      case 0x65: { const items = popMark(); (stack[stack.length - 1] as unknown[]).push(...items); break; } // APPENDS
      case 0x73: { const v = stack.pop(); const k = stack.pop(); (stack[stack.length - 1] as Map<unknown, unknown>).set(k, v); break; } // SETITEM
      case 0x75: { // SETITEMS
        const items = popMark();
        const d = stack[stack.length - 1] as Map<unknown, unknown>;
        for (let k = 0; k < items.length; k += 2) d.set(items[k], items[k + 1]);
        break;
      }
      case 0x52: { const args = stack.pop() as unknown[]; const fn = stack.pop(); stack.push(call(fn, args)); break; } // REDUCE
      case 0x62: stack.pop(); break; // BUILD: state of an OrderedDict / tensor hooks, unused
      case 0x51: { // BINPERSID
        const pid = stack.pop() as unknown[];
        if (!Array.isArray(pid) || pid[0] !== 'storage') throw new Error('pickle: unknown persistent id');
        const type = pid[1] as Global;
        const dtype = STORAGE_TYPES[type.name];
        if (!dtype) throw new Error(`pickle: unsupported storage ${type.full}`);
        stack.push({ storage: true, dtype, key: String(pid[2]), numel: pid[4] as number } satisfies StorageRef);
        break;
      }
      default:
        throw new Error(`pickle: unsupported opcode 0x${op.toString(16)} at byte ${i - 1}`);
    }
  }
}

const BYTES: Record<TorchTensor['dtype'], number> = { float32: 4, float16: 2, bfloat16: 2, int64: 8, int32: 4, float64: 8 };

function makeTensor(ref: StorageRef, raw: Buffer, offset: number, shape: number[], stride: number[]): TorchTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const size = BYTES[ref.dtype];
  if (raw.length < ref.numel * size) throw new Error(`storage ${ref.key} is ${raw.length} bytes, expected ${ref.numel * size}`);
  const read = (flat: number): number => {
    const at = (offset + flat) * size;
    switch (ref.dtype) {
      case 'float32': return raw.readFloatLE(at);
      case 'float64': return raw.readDoubleLE(at);
      case 'int32': return raw.readInt32LE(at);
      case 'int64': return Number(raw.readBigInt64LE(at));
      case 'float16': return halfToFloat(raw.readUInt16LE(at));
      case 'bfloat16': return bf16ToFloat(raw.readUInt16LE(at));
    }
  };
  // Walk the logical index through the strides (tensors may be views).
  const values = (): number[] => {
    const out = new Array<number>(n);
    const idx = new Array<number>(shape.length).fill(0);
    for (let k = 0; k < n; k++) {
      let flat = 0;
      for (let d = 0; d < shape.length; d++) flat += idx[d]! * stride[d]!;
      out[k] = read(flat);
      for (let d = shape.length - 1; d >= 0; d--) {
        if (++idx[d]! < shape[d]!) break;
        idx[d] = 0;
      }
    }
    return out;
  };
  return { dtype: ref.dtype, shape, toNumbers: values, toFloat32: () => Float32Array.from(values()) };
}

export { halfToFloat };

function bf16ToFloat(b: number): number {
  const u = new Uint32Array([b << 16]);
  return new Float32Array(u.buffer)[0]!;
}

/** Loads a torch.save zip and returns its top-level dict of tensors (other values are dropped). */
export function readTorchFile(buf: Buffer): Map<string, TorchTensor> {
  const zip = readZip(buf);
  const pkl = [...zip.keys()].find((k) => k.endsWith('/data.pkl') || k === 'data.pkl');
  if (!pkl) throw new Error('not a torch.save file: no data.pkl inside');
  const root = pkl.slice(0, pkl.length - 'data.pkl'.length);
  const obj = unpickle(zip.get(pkl)!.data(), (ref) => {
    const e = zip.get(`${root}data/${ref.key}`);
    if (!e) throw new Error(`torch file is missing storage data/${ref.key}`);
    return e.data();
  });
  if (!(obj instanceof Map)) throw new Error('torch file does not hold a dict');
  const out = new Map<string, TorchTensor>();
  for (const [k, v] of obj) if (typeof k === 'string' && v && typeof v === 'object' && 'shape' in v) out.set(k, v as TorchTensor);
  return out;
}
