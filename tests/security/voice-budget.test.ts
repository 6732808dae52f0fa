/**
 * Finding 2, the room thread's side: a voice frame past the player's budget is judged from its first bytes and
 * dropped before it is decoded (no msgpack unpack, no Opus), counted locally and added to the metrics once per
 * tick; a player being dropped for flooding has nothing more read. (The end-to-end flood is voice-flood.test.ts;
 * the cost per flooded message is in bench/abuse.bench.ts.)
 */
import type { Client } from '@colyseus/core';
import { describe, expect, it } from 'vitest';
import { encode, peekKind } from '../../protocol/envelope.ts';
import { Kind, type VoiceMsg } from '../../protocol/messages.ts';
import { PROTOCOL_VERSION } from '../../protocol/version.ts';
import type { DuplexEngine } from '../../server/engines/contract.ts';
import { createParleyMetrics } from '../../server/metrics/parley-metrics.ts';
import { PlayerLink } from '../../server/room/player-link.ts';
import { PlayerState } from '../../server/room/state.ts';
import { recordingLogger } from '../support/log.ts';

const voice = (seq: number): VoiceMsg => ({ k: Kind.Voice, seq, t: 0, codec: 'opus', data: new Uint8Array(60).fill(0x55) });

function link(hello = true) {
  const metrics = createParleyMetrics();
  const { log, lines } = recordingLogger();
  const client = { sessionId: 'p1', sendBytes: () => {} } as unknown as Client;
  let hostile = 0;
  const l = new PlayerLink(client, new PlayerState(), metrics, log, { onHostile: () => hostile++ });
  if (hello) l.hello({ k: Kind.Hello, v: PROTOCOL_VERSION, send: ['opus'], recv: ['opus'] }, { textLeadFrames: 0, label: 'test' } as unknown as DuplexEngine);
  const overflow = () => metrics.framesDropped.get({ stream: 'player_voice', reason: 'overflow' });
  return { l, metrics, lines, overflow, hostile: () => hostile };
}

describe('voice budget before decoding', () => {
  it('peekKind reads the kind from the first bytes of every client kind, and says nothing when it cannot tell', () => {
    expect(peekKind(encode(voice(1)))).toBe(Kind.Voice);
    expect(peekKind(encode({ k: Kind.Pose, p: [0, 0, 0], f: [0, 0, 1] }))).toBe(Kind.Pose);
    expect(peekKind(encode({ k: Kind.Hello, v: PROTOCOL_VERSION, send: ['opus'], recv: ['opus'] }))).toBe(Kind.Hello);
    // fixmap and str8 spellings of the same thing
    expect(peekKind(new Uint8Array([0x81, 0xa1, 0x6b, 0x02]))).toBe(Kind.Voice);
    expect(peekKind(new Uint8Array([0x81, 0xd9, 0x01, 0x6b, 0x02]))).toBe(Kind.Voice);
    // `k` not first, not a map, truncated, empty, a kind that is no small integer: the full decode decides
    expect(peekKind(encode({ seq: 1, k: Kind.Voice } as never))).toBeNull();
    expect(peekKind(new Uint8Array([0x92, 0x01, 0x02]))).toBeNull();
    expect(peekKind(new Uint8Array([0x81, 0xa1]))).toBeNull();
    expect(peekKind(new Uint8Array(0))).toBeNull();
    expect(peekKind(new Uint8Array([0x81, 0xa1, 0x6b, 0xcc, 0x02]))).toBeNull();
  });

  it('frames past the budget are refused before decoding and counted once per tick, not once per frame', () => {
    const { l, overflow } = link();
    const now = 1_000_000;
    let admitted = 0;
    for (let i = 0; i < 100; i++) if (l.admit(encode(voice(i)), now)) admitted++;
    expect(admitted).toBe(8); // the burst; the other 92 came at the same instant
    expect(overflow()).toBe(0); // not yet in the metrics: no per-frame metric call on the flood path
    l.advance(80); // the tick
    expect(overflow()).toBe(92);
    // other kinds are not judged by the voice budget (the decode and its own checks decide)
    expect(l.admit(encode({ k: Kind.Pose, p: [0, 0, 0], f: [0, 0, 1] }), now)).toBe(true);
  });

  it("a frame admitted before its decode is not charged again when it reaches voice()", () => {
    const { l, overflow } = link();
    const now = 1_000_000;
    for (let i = 0; i < 8; i++) {
      expect(l.admit(encode(voice(i)), now)).toBe(true);
      l.voice(voice(i), now);
    }
    l.advance(80);
    expect(overflow()).toBe(0);
    // a voice frame admit could not tell (fields in another order) is charged in voice(), after its decode
    expect(l.admit(encode({ seq: 9, k: Kind.Voice } as never), now)).toBe(true);
    l.voice(voice(9), now);
    l.advance(80);
    expect(overflow()).toBe(1);
  });

  it('a client far over budget is dropped once, and nothing it sends afterwards is read', () => {
    const { l, lines, hostile, overflow } = link();
    let now = 1_000_000;
    let seq = 0;
    // 15 frames every 80 ms: ~190 frames/s, 15x real time
    for (let tick = 0; tick < 30 && hostile() === 0; tick++, now += 80) for (let i = 0; i < 15; i++) l.admit(encode(voice(seq++)), now);
    expect(hostile()).toBe(1);
    expect(seq).toBeLessThan(15 * 14); // dropped within about a second
    expect(l.admit(encode({ k: Kind.Pose, p: [0, 0, 0], f: [0, 0, 1] }), now)).toBe(false);
    expect(l.admit(encode(voice(seq++)), now)).toBe(false);
    expect(hostile()).toBe(1);
    expect(overflow()).toBeGreaterThan(100); // what it flooded is in the metrics at once
    expect(lines.filter((x) => /player dropped: voice far over budget/.test(x))).toHaveLength(1);
  });

  it('before hello, voice is left to the decode (which refuses it as no-hello)', () => {
    const { l } = link(false);
    expect(l.admit(encode(voice(1)), 1_000_000)).toBe(true);
  });
});
