import { describe, expect, it } from 'vitest';
import { encode, decodeClient, decodeServer, ProtocolError, MAX_CLIENT_MESSAGE_BYTES } from '../../protocol/envelope.ts';
import { Kind, type NpcVoiceMsg } from '../../protocol/messages.ts';
import { negotiateCodec, PCM16_FRAME_BYTES } from '../../protocol/codecs.ts';
import { versionMismatch, PROTOCOL_VERSION } from '../../protocol/version.ts';
import { FRAME_MS, FRAME_SAMPLES, FRAMES_PER_SECOND, SAMPLE_RATE } from '../../protocol/frame.ts';

const code = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return err instanceof ProtocolError ? err.code : `other: ${(err as Error).message}`;
  }
  return 'accepted';
};

describe('protocol', () => {
  it('frames are 24 kHz mono, 1920 samples, 80 ms, 12.5 per second', () => {
    expect([SAMPLE_RATE, FRAME_SAMPLES, FRAME_MS, FRAMES_PER_SECOND]).toEqual([24000, 1920, 80, 12.5]);
    expect((FRAME_SAMPLES / SAMPLE_RATE) * 1000).toBe(FRAME_MS);
  });

  it('round-trips every client kind with msgpackr', () => {
    const voice = { k: Kind.Voice, seq: 7, t: 123.5, codec: 'pcm16', data: new Uint8Array(PCM16_FRAME_BYTES).fill(3) } as const;
    const back = decodeClient(encode(voice));
    expect(back).toMatchObject({ k: Kind.Voice, seq: 7, t: 123.5, codec: 'pcm16' });
    expect(new Uint8Array((back as typeof voice).data)).toEqual(voice.data);
    expect(decodeClient(encode({ k: Kind.Pose, p: [1, 2, 3], f: [0, 0, 1] }))).toEqual({ k: Kind.Pose, p: [1, 2, 3], f: [0, 0, 1] });
    expect(decodeClient(encode({ k: Kind.Hello, v: '1.0', send: ['opus'], recv: ['pcm16', 'opus'] }))).toEqual({
      k: Kind.Hello, v: '1.0', send: ['opus'], recv: ['pcm16', 'opus'],
    });
  });

  it("hello's echo answer (1.1) round-trips; anything but cancelled, headphones or none is refused with a reason", () => {
    for (const echo of ['cancelled', 'headphones', 'none'] as const) {
      expect(decodeClient(encode({ k: Kind.Hello, v: '1.1', send: ['opus'], recv: ['opus'], echo }))).toEqual({ k: Kind.Hello, v: '1.1', send: ['opus'], recv: ['opus'], echo });
    }
    for (const echo of ['yes', 1, true, null, ['none']]) {
      const err = (() => {
        try {
          decodeClient(encode({ k: Kind.Hello, v: '1.1', send: ['opus'], recv: ['opus'], echo } as never));
        } catch (e) {
          return e as ProtocolError;
        }
      })();
      expect(err?.code, JSON.stringify(echo)).toBe('bad-field');
      expect(err?.message).toMatch(/hello\.echo .* is not one of cancelled, headphones, none/);
    }
  });

  it('round-trips server kinds', () => {
    const msg: NpcVoiceMsg = { k: Kind.NpcVoice, npc: 'alex', i: 42, t: 1, codec: 'opus', data: new Uint8Array([1, 2, 3]), vis: { from: 80640, keys: [{ at: 80640, v: 10 }] } };
    expect(decodeServer(encode(msg))).toMatchObject({ npc: 'alex', i: 42, vis: { from: 80640, keys: [{ at: 80640, v: 10 }] } });
    expect(decodeServer(encode({ k: Kind.NpcEvent, npc: 'alex', e: 'interrupted', i: 9 }))).toMatchObject({ e: 'interrupted', i: 9 });
    expect(code(() => decodeServer(encode({ k: 3 } as never)))).toBe('unknown-kind');
  });

  it('refuses malformed, unknown and wrongly shaped messages with a reason', () => {
    expect(code(() => decodeClient(new Uint8Array([0x92])))).toBe('malformed'); // truncated
    expect(code(() => decodeClient(new Uint8Array([0xc1])))).toBe('malformed'); // reserved byte
    expect(code(() => decodeClient(encode(5 as never)))).toBe('malformed');
    expect(code(() => decodeClient(encode([1, 2] as never)))).toBe('malformed');
    expect(code(() => decodeClient(encode({ k: 77 } as never)))).toBe('unknown-kind');
    expect(code(() => decodeClient(encode({ k: Kind.Pose, p: [1, 2], f: [0, 0, 1] } as never)))).toBe('bad-field');
    expect(code(() => decodeClient(encode({ k: Kind.Pose, p: [1, 2, NaN], f: [0, 0, 1] })))).toBe('bad-field');
    expect(code(() => decodeClient(encode({ k: Kind.Voice, seq: -1, t: 0, codec: 'pcm16', data: new Uint8Array(3840) })))).toBe('bad-field');
    expect(code(() => decodeClient(encode({ k: Kind.Voice, seq: 1, t: 0, codec: 'mp3', data: new Uint8Array(10) } as never)))).toBe('bad-field');
    expect(code(() => decodeClient(encode({ k: Kind.Voice, seq: 1, t: 0, codec: 'pcm16', data: new Uint8Array(3838) })))).toBe('frame-size');
    expect(code(() => decodeClient(encode({ k: Kind.Voice, seq: 1, t: 0, codec: 'opus', data: new Uint8Array(0) })))).toBe('frame-size');
    expect(code(() => decodeClient(new Uint8Array(MAX_CLIENT_MESSAGE_BYTES + 1)))).toBe('too-large');
    expect(code(() => decodeClient(encode({ k: Kind.Voice, seq: 1, t: 0, codec: 'pcm16', data: 'abc' } as never)))).toBe('bad-field');
  });

  it('negotiates Opus first, PCM16 as the fallback, nothing when there is nothing in common', () => {
    expect(negotiateCodec(['pcm16', 'opus'])).toBe('opus');
    expect(negotiateCodec(['pcm16'])).toBe('pcm16');
    expect(negotiateCodec(['aac'])).toBeNull();
  });

  it('refuses a different major version, naming both', () => {
    expect(versionMismatch(PROTOCOL_VERSION)).toBeNull();
    expect(versionMismatch('1.7')).toBeNull();
    expect(versionMismatch('2.0')).toBe(`protocol version mismatch: client speaks 2.0, server speaks ${PROTOCOL_VERSION}`);
    expect(versionMismatch(undefined)).toMatch(/missing or malformed/);
  });
});
