import { describe, expect, it } from 'vitest';
import { PlaybackQueue } from '../../server/engines/personaplex-server/playback-queue.ts';
import { voicePromptName } from '../../server/engines/personaplex-server/voice.ts';
import { audioMessage, parseServerMessage } from '../../server/engines/personaplex-server/wire.ts';

const frame = (n: number, text?: string) => ({ pcm: new Float32Array(1920).fill(n / 100), ...(text ? { text } : {}) });
const id = (f: { pcm: Float32Array } | null) => (f ? Math.round(f.pcm[0]! * 100) : null);

describe('jitter buffer', () => {
  it('starts after `target` frames, plays in order, and rebuffers after an underrun', () => {
    const j = new PlaybackQueue(2, 8);
    j.push(frame(1));
    expect(j.pop()).toBeNull(); // still buffering
    j.push(frame(2));
    expect([id(j.pop()), id(j.pop())]).toEqual([1, 2]);
    expect(j.pop()).toBeNull(); // underrun
    expect(j.underruns).toBe(1);
    j.push(frame(3));
    expect(j.pop()).toBeNull(); // rebuffering to 2
    j.push(frame(4));
    expect(id(j.pop())).toBe(3);
  });

  it('drops the oldest frames past `max`, moving their text onto a later frame', () => {
    const j = new PlaybackQueue(1, 3);
    j.push(frame(1, '▁one'));
    j.push(frame(2));
    j.push(frame(3));
    j.push(frame(4)); // frame 1 dropped, its word moves on
    expect(j.dropped).toBe(1);
    const got = [j.pop(), j.pop(), j.pop()];
    expect(got.map(id)).toEqual([2, 3, 4]);
    expect(got[0]!.text).toBe('▁one');
  });

  it('rejects nonsense sizes', () => {
    expect(() => new PlaybackQueue(0, 4)).toThrow();
    expect(() => new PlaybackQueue(4, 2)).toThrow();
  });
});

describe('wire messages', () => {
  it('parses the documented kinds', () => {
    expect(parseServerMessage(Uint8Array.of(0))).toEqual({ kind: 'handshake' });
    expect(parseServerMessage(Uint8Array.of(1, 9, 8))).toMatchObject({ kind: 'audio', data: Uint8Array.of(9, 8) });
    expect(parseServerMessage(new Uint8Array([2, ...Buffer.from(' hello')]))).toEqual({ kind: 'text', text: ' hello' });
    expect(parseServerMessage(new Uint8Array([5, ...Buffer.from('out of memory')]))).toEqual({ kind: 'error', text: 'out of memory' });
    expect(parseServerMessage(Uint8Array.of(6)).kind).toBe('ignored');
    expect(audioMessage(Uint8Array.of(7))).toEqual(Uint8Array.of(1, 7));
  });

  it('rejects garbage with a clear reason', () => {
    expect(() => parseServerMessage(new Uint8Array(0))).toThrow(/empty/);
    expect(() => parseServerMessage(Uint8Array.of(0x42))).toThrow(/unknown message kind 0x42/);
    expect(() => parseServerMessage(Uint8Array.of(2, 0xff, 0xfe))).toThrow(/not valid UTF-8/);
    expect(() => parseServerMessage(new Uint8Array([2, ...Buffer.from('x'.repeat(200))]))).toThrow(/not a model piece/);
  });
});

describe('voice_prompt', () => {
  it('is a bare file name of a known shape, whatever the sheet says', () => {
    expect(voicePromptName({ kind: 'builtin', id: 'VARF4' })).toBe('VARF4.pt');
    expect(voicePromptName({ kind: 'wav', path: 'character-sheets/voices/kess_v2.wav' })).toBe('kess_v2.wav');
    expect(voicePromptName({ kind: 'wav', path: 'C:\\voices\\kess.wav' })).toBe('kess.wav');
    expect(voicePromptName({ kind: 'wav', path: '../../../etc/secrets.wav' })).toBe('secrets.wav'); // the path never travels
    for (const path of ['..', 'kess.WAV.pt', 'kess.pt', '.hidden.wav', 'a b.wav', 'kess.wav/', '']) {
      expect(() => voicePromptName({ kind: 'wav', path })).toThrow();
    }
  });
});
