import { describe, expect, it } from 'vitest';
import { decodeClient, encode } from '../../../protocol/envelope.ts';
import { Kind, type ServerMsg } from '../../../protocol/messages.ts';
import { PROTOCOL_VERSION } from '../../../protocol/version.ts';
import { ParleyLink, type RoomLike } from '../../../plugin/net/parley-link.ts';
import type { SessionState } from '../../../plugin/types.ts';

/** A Colyseus room stand-in: records sent bytes, lets the test drop, reconnect and deliver messages. */
function fakeRoom() {
  const sent: Uint8Array[] = [];
  let handler: (p: unknown) => void = () => {};
  const signal = <F extends (...a: any[]) => void>() => {
    const cbs = new Set<F>();
    return Object.assign((cb: F) => cbs.add(cb), { remove: (cb: F) => cbs.delete(cb), fire: (...a: Parameters<F>) => cbs.forEach((cb) => cb(...a)), cbs });
  };
  const connection = { isOpen: true };
  const room = {
    connection,
    sendBytes: (_t: string, b: Uint8Array) => sent.push(b),
    onMessage: (_t: string, cb: (p: unknown) => void) => ((handler = cb), () => (handler = () => {})),
    onLeave: signal<(code: number, reason?: string) => void>(),
    onDrop: signal<(code: number, reason?: string) => void>(),
    onReconnect: signal<() => void>(),
    leave: async () => 0,
  };
  return { room: room as RoomLike, raw: room, sent, deliver: (m: ServerMsg | Uint8Array) => handler(m instanceof Uint8Array ? m : encode(m)) };
}

const welcome = (send: 'opus' | 'pcm16' = 'pcm16'): ServerMsg => ({ k: Kind.Welcome, v: '1.0', send, recv: 'pcm16', lead: 2, engine: 'test', t: Date.now() });

function link() {
  const r = fakeRoom();
  const states: SessionState[] = [];
  const messages: ServerMsg[] = [];
  const errors: string[] = [];
  const l = new ParleyLink(r.room, { send: ['opus', 'pcm16'], recv: ['pcm16'] }, {
    onState: (s) => states.push(s),
    onMessage: (m) => messages.push(m),
    onError: (e) => errors.push(e.message),
  });
  return { ...r, l, states, messages, errors };
}

describe('ParleyLink', () => {
  it('says Hello with the protocol version and its codecs', () => {
    const t = link();
    t.l.hello();
    const hello = decodeClient(t.sent[0]);
    expect(hello).toEqual({ k: Kind.Hello, v: PROTOCOL_VERSION, send: ['opus', 'pcm16'], recv: ['pcm16'] });
  });

  it('sends no voice before Welcome, then sends in the welcomed codec only', () => {
    const t = link();
    expect(t.l.sendVoice(0, 0, 'pcm16', new Uint8Array(3840))).toBe(false);
    t.deliver(welcome('pcm16'));
    expect(t.states).toEqual(['ready']);
    expect(t.l.sendVoice(1, 80, 'opus', new Uint8Array(10))).toBe(false);
    expect(t.l.sendVoice(2, 160, 'pcm16', new Uint8Array(3840))).toBe(true);
    const v = decodeClient(t.sent.at(-1)!);
    expect(v).toMatchObject({ k: Kind.Voice, seq: 2, t: 160, codec: 'pcm16' });
  });

  it('queues nothing while the socket is down, and says Hello again after reconnecting', () => {
    const t = link();
    t.deliver(welcome());
    t.raw.connection.isOpen = false;
    t.raw.onDrop.fire(1006, 'network');
    expect(t.states.at(-1)).toBe('reconnecting');
    const before = t.sent.length;
    expect(t.l.sendVoice(5, 400, 'pcm16', new Uint8Array(3840))).toBe(false);
    expect(t.l.sendPose([0, 0, 0], [0, 0, 1])).toBe(false);
    expect(t.sent.length).toBe(before);
    t.raw.connection.isOpen = true;
    t.raw.onReconnect.fire();
    expect(t.states.at(-1)).toBe('joined');
    expect(decodeClient(t.sent.at(-1)!).k).toBe(Kind.Hello);
    expect(t.l.sendVoice(6, 480, 'pcm16', new Uint8Array(3840))).toBe(false); // not until welcomed again
    t.deliver(welcome());
    expect(t.l.sendVoice(7, 560, 'pcm16', new Uint8Array(3840))).toBe(true);
  });

  it('routes server messages and reports bad ones without throwing', () => {
    const t = link();
    t.deliver({ k: Kind.Text, npc: 'guard', i: 3, piece: '▁hi' });
    expect(() => t.deliver(new Uint8Array([0xc1]))).not.toThrow(); // not msgpack
    expect(() => t.deliver(encode({ k: 99 } as never))).not.toThrow(); // unknown kind
    expect(t.messages).toEqual([{ k: Kind.Text, npc: 'guard', i: 3, piece: '▁hi' }]);
    expect(t.errors).toHaveLength(2);
  });

  it('refuses a Welcome naming a codec it did not offer', () => {
    const t = link();
    t.deliver({ k: Kind.Welcome, v: '1.0', send: 'pcm16', recv: 'opus', lead: 2, engine: 'x', t: 0 });
    expect(t.states).toEqual(['refused']);
    expect(t.l.ready).toBe(false);
  });

  it('dispose unsubscribes and reports disconnected; a leave reports disconnected with the reason', () => {
    const t = link();
    t.raw.onLeave.fire(4000, 'kicked');
    expect(t.states.at(-1)).toBe('disconnected');
    const u = link();
    u.l.dispose();
    expect(u.states).toEqual(['disconnected']);
    expect(u.raw.onDrop.cbs.size).toBe(0);
    u.deliver(welcome());
    expect(u.states).toEqual(['disconnected']);
  });
});
