import { Packr } from 'msgpackr';
import { isCodec, OPUS_MAX_FRAME_BYTES, PCM16_FRAME_BYTES } from './codecs.ts';
import { ECHO_HANDLINGS, Kind, type ClientMsg, type EchoHandling, type HelloMsg, type ServerMsg, type Vec3 } from './messages.ts';

// Plain maps, no shared record structures: each message stands alone, so a peer can decode any one of them.
const packr = new Packr({ useRecords: false, moreTypes: false });

/** Largest legal client message, with room for the envelope's field names. */
export const MAX_CLIENT_MESSAGE_BYTES = OPUS_MAX_FRAME_BYTES + 256;

export class ProtocolError extends Error {
  constructor(
    readonly code: 'malformed' | 'unknown-kind' | 'bad-field' | 'too-large' | 'frame-size',
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export function encode(msg: ClientMsg | ServerMsg): Uint8Array {
  return packr.pack(msg);
}

function unpack(bytes: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = packr.unpack(bytes);
  } catch (err) {
    throw new ProtocolError('malformed', `not a msgpack message (${(err as Error).message})`);
  }
  // (msgpackr turns the reserved byte 0xc1 into a marker object, not a map: the prototype check catches it)
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.getPrototypeOf(value) !== Object.prototype) {
    throw new ProtocolError('malformed', 'message is not a map');
  }
  return value as Record<string, unknown>;
}

const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

function vec3(x: unknown, field: string): Vec3 {
  if (!Array.isArray(x) || x.length !== 3 || !x.every(finite)) {
    throw new ProtocolError('bad-field', `${field} must be three finite numbers`);
  }
  return [x[0], x[1], x[2]];
}

function bytes(x: unknown, field: string): Uint8Array {
  if (!(x instanceof Uint8Array)) throw new ProtocolError('bad-field', `${field} must be bytes`);
  return x;
}

function codecList(x: unknown, field: string) {
  if (!Array.isArray(x) || x.length > 8) throw new ProtocolError('bad-field', `${field} must be a list of codecs`);
  return x.filter(isCodec);
}

/**
 * The kind of a client message read from its first bytes, without unpacking it: the value of `k` when `k` is the
 * map's first key (as this protocol's encoders write it) and a small integer; null when the bytes do not say
 * (the full decode then decides). Lets the server apply a per-player budget before paying for a decode.
 */
export function peekKind(raw: Uint8Array): number | null {
  const head = raw[0];
  let o: number;
  if (head === undefined) return null;
  if (head >= 0x80 && head <= 0x8f) o = 1; // fixmap
  else if (head === 0xde) o = 3; // map16
  else if (head === 0xdf) o = 5; // map32
  else return null;
  if (raw[o] === 0xa1 && raw[o + 1] === 0x6b) o += 2; // "k" as fixstr
  else if (raw[o] === 0xd9 && raw[o + 1] === 1 && raw[o + 2] === 0x6b) o += 3; // "k" as str8
  else return null;
  const v = raw[o];
  return v !== undefined && v <= 0x7f ? v : null; // positive fixint
}

/** Decode and validate a player → server message. Throws ProtocolError with a reason fit for a log line. */
export function decodeClient(raw: Uint8Array): ClientMsg {
  if (raw.byteLength > MAX_CLIENT_MESSAGE_BYTES) {
    throw new ProtocolError('too-large', `message of ${raw.byteLength} bytes exceeds ${MAX_CLIENT_MESSAGE_BYTES}`);
  }
  const m = unpack(raw);
  switch (m.k) {
    case Kind.Hello: {
      if (typeof m.v !== 'string') throw new ProtocolError('bad-field', 'hello.v must be a version string');
      const hello: HelloMsg = { k: Kind.Hello, v: m.v, send: codecList(m.send, 'hello.send'), recv: codecList(m.recv, 'hello.recv') };
      if (m.echo !== undefined) {
        if (!(ECHO_HANDLINGS as readonly unknown[]).includes(m.echo)) throw new ProtocolError('bad-field', `hello.echo ${JSON.stringify(m.echo)} is not one of ${ECHO_HANDLINGS.join(', ')}`);
        hello.echo = m.echo as EchoHandling;
      }
      return hello;
    }
    case Kind.Voice: {
      if (!finite(m.seq) || !Number.isInteger(m.seq) || m.seq < 0) {
        throw new ProtocolError('bad-field', 'voice.seq must be a non-negative integer');
      }
      if (!finite(m.t)) throw new ProtocolError('bad-field', 'voice.t must be a finite number');
      if (!isCodec(m.codec)) throw new ProtocolError('bad-field', `voice.codec ${JSON.stringify(m.codec)} is not opus or pcm16`);
      const data = bytes(m.data, 'voice.data');
      if (m.codec === 'pcm16' && data.byteLength !== PCM16_FRAME_BYTES) {
        throw new ProtocolError('frame-size', `pcm16 frame of ${data.byteLength} bytes, expected ${PCM16_FRAME_BYTES}`);
      }
      if (m.codec === 'opus' && (data.byteLength === 0 || data.byteLength > OPUS_MAX_FRAME_BYTES)) {
        throw new ProtocolError('frame-size', `opus packet of ${data.byteLength} bytes, expected 1..${OPUS_MAX_FRAME_BYTES}`);
      }
      return { k: Kind.Voice, seq: m.seq, t: m.t, codec: m.codec, data };
    }
    case Kind.Pose:
      return { k: Kind.Pose, p: vec3(m.p, 'pose.p'), f: vec3(m.f, 'pose.f') };
    case Kind.Played: {
      if (typeof m.npc !== 'string' || m.npc.length === 0 || m.npc.length > 64) throw new ProtocolError('bad-field', 'played.npc must be an NPC id (1–64 characters)');
      if (!finite(m.i) || !Number.isInteger(m.i) || m.i < -1) throw new ProtocolError('bad-field', 'played.i must be an integer frame index ≥ -1');
      return { k: Kind.Played, npc: m.npc, i: m.i };
    }
    default:
      throw new ProtocolError('unknown-kind', `unknown message kind ${JSON.stringify(m.k)}`);
  }
}

/** Decode a server → player message. The client trusts the server's shapes but not its kinds. */
export function decodeServer(raw: Uint8Array): ServerMsg {
  const m = unpack(raw);
  if (m.k !== Kind.Welcome && m.k !== Kind.NpcVoice && m.k !== Kind.Text && m.k !== Kind.NpcEvent && m.k !== Kind.Refused && m.k !== Kind.Heard) {
    throw new ProtocolError('unknown-kind', `unknown message kind ${JSON.stringify(m.k)}`);
  }
  return m as unknown as ServerMsg;
}
