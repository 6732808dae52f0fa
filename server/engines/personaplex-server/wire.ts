/**
 * The /api/chat WebSocket protocol of Moshi and PersonaPlex: binary messages, one kind byte then the payload.
 * The official PersonaPlex server sends only handshake, audio and text, and reads only audio.
 */
export const KIND = {
  handshake: 0x00,
  audio: 0x01,
  text: 0x02,
  control: 0x03,
  metadata: 0x04,
  error: 0x05,
  ping: 0x06,
} as const;

export type ServerMessage =
  | { kind: 'handshake' }
  | { kind: 'audio'; data: Uint8Array }
  | { kind: 'text'; text: string }
  | { kind: 'error'; text: string }
  /** control, metadata, ping: understood, nothing to do */
  | { kind: 'ignored'; what: string };

/** Longest text piece accepted: SentencePiece pieces are short; anything longer is not a piece. */
const MAX_PIECE_CHARS = 64;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

export function parseServerMessage(data: Uint8Array): ServerMessage {
  if (data.length === 0) throw new ProtocolError('empty message from server');
  const payload = data.subarray(1);
  switch (data[0]) {
    case KIND.handshake:
      return { kind: 'handshake' };
    case KIND.audio:
      return { kind: 'audio', data: payload };
    case KIND.text: {
      const text = decodeUtf8(payload, 'text piece');
      if (text.length > MAX_PIECE_CHARS) throw new ProtocolError(`text piece of ${text.length} characters (not a model piece)`);
      return { kind: 'text', text };
    }
    case KIND.error:
      return { kind: 'error', text: decodeUtf8(payload, 'error message').slice(0, 500) };
    case KIND.control:
      return { kind: 'ignored', what: 'control' };
    case KIND.metadata:
      return { kind: 'ignored', what: 'metadata' };
    case KIND.ping:
      return { kind: 'ignored', what: 'ping' };
    default:
      throw new ProtocolError(`unknown message kind 0x${data[0]!.toString(16).padStart(2, '0')} from server`);
  }
}

function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new ProtocolError(`${what} is not valid UTF-8`);
  }
}

export function audioMessage(page: Uint8Array): Uint8Array {
  const msg = new Uint8Array(page.length + 1);
  msg[0] = KIND.audio;
  msg.set(page, 1);
  return msg;
}
