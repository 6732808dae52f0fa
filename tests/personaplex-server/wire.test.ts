/** The server's wire messages and the voice_prompt names sent to it. */
import { describe, expect, it } from 'vitest';
import { voicePromptName } from '../../server/engines/personaplex-server/voice.ts';
import { audioMessage, parseServerMessage } from '../../server/engines/personaplex-server/wire.ts';

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
