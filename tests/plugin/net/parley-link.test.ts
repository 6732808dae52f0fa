import { describe, expect, it } from 'vitest';
import { decodeClient, encode } from '../../../protocol/envelope.ts';
import { Kind, type ServerMsg } from '../../../protocol/messages.ts';
import { PROTOCOL_VERSION } from '../../../protocol/version.ts';
import { ParleyLink, type RoomLike } from '../../../plugin/net/parley-link.ts';
import { FakeClock, sleep } from '../../support/time.ts';
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

  it("tells its echo answer in hello, and a changed answer at once in a hello again (not before the first)", () => {
    const t = link();
    t.l.setEcho('cancelled');
    expect(t.sent.length).toBe(0); // the session's hello carries it
    t.l.hello();
    expect(decodeClient(t.sent[0]!)).toMatchObject({ k: Kind.Hello, echo: 'cancelled' });
    t.deliver(welcome());
    t.l.setEcho('cancelled');
    expect(t.sent.length).toBe(1); // unchanged: nothing to say
    t.l.setEcho('none'); // the canceller failed
    expect(t.sent.length).toBe(2);
    expect(decodeClient(t.sent[1]!)).toEqual({ k: Kind.Hello, v: PROTOCOL_VERSION, send: ['opus', 'pcm16'], recv: ['pcm16'], echo: 'none' });
    t.raw.onReconnect.fire(); // every later hello says it too
    expect(decodeClient(t.sent[2]!)).toMatchObject({ k: Kind.Hello, echo: 'none' });
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

describe('ParleyLink re-joins the room by name', () => {
  /** A link with a fake clock whose `join` hands out fresh fake rooms (or fails while `failing` > 0). */
  function rejoining(afterMs = 2000) {
    const clock = new FakeClock();
    const rooms = [fakeRoom()];
    let joins = 0;
    let failing = 0;
    const states: Array<{ s: SessionState; why?: string }> = [];
    const messages: ServerMsg[] = [];
    const errors: string[] = [];
    const l = new ParleyLink(
      rooms[0]!.room,
      { send: ['pcm16'], recv: ['pcm16'] },
      { onState: (s, why) => states.push({ s, why }), onMessage: (m) => messages.push(m), onError: (e) => errors.push(e.message) },
      {
        afterMs,
        retryMs: 500,
        attempts: 3,
        timers: clock,
        join: async () => {
          joins++;
          if (failing > 0) {
            failing--;
            throw new Error('no process answered');
          }
          const r = fakeRoom();
          rooms.push(r);
          return r.room;
        },
      },
    );
    return { clock, rooms, l, states, messages, errors, joins: () => joins, fail: (n: number) => (failing = n) };
  }
  const settle = () => sleep(0);
  const dead = (r: ReturnType<typeof fakeRoom>) => {
    r.raw.connection.isOpen = false;
    r.raw.onDrop.fire(1006, 'connection lost');
  };

  it('after a drop, waits out the SDK for afterMs, then joins by name, says hello and is ready on the new room', async () => {
    const t = rejoining(2000);
    const first = t.rooms[0]!;
    let left = 0;
    first.raw.leave = async () => (left++, 0);
    (first.raw as { reconnection?: { enabled: boolean } }).reconnection = { enabled: true };
    first.deliver(welcome());
    dead(first);
    expect(t.states.at(-1)!.s).toBe('reconnecting');
    t.clock.advance(1999);
    await settle();
    expect(t.joins()).toBe(0); // the SDK may still reconnect
    t.clock.advance(1);
    await settle();
    expect(t.joins()).toBe(1);
    expect(left).toBe(1); // the SDK's retries of the dead room stop
    expect((first.raw as { reconnection?: { enabled: boolean } }).reconnection?.enabled).toBe(false);
    expect(t.states.map((x) => x.s)).toEqual(['ready', 'reconnecting', 'rejoining', 'joined']);
    expect(t.states[2]!.why).toMatch(/no reconnection within 2000 ms/);
    const next = t.rooms[1]!;
    expect(t.l.room).toBe(next.room);
    expect(decodeClient(next.sent[0]!)).toMatchObject({ k: Kind.Hello });
    expect(t.l.sendVoice(0, 0, 'pcm16', new Uint8Array(3840))).toBe(false); // not before the new Welcome
    next.deliver(welcome());
    expect(t.l.ready).toBe(true);
    expect(t.l.sendVoice(1, 80, 'pcm16', new Uint8Array(3840))).toBe(true);
    expect(next.sent).toHaveLength(2);
    // the old room is no longer listened to; the new one is
    first.deliver({ k: Kind.Text, npc: 'alex', i: 1, piece: 'stale' });
    next.deliver({ k: Kind.Text, npc: 'alex', i: 0, piece: 'fresh' });
    expect(t.messages).toEqual([{ k: Kind.Text, npc: 'alex', i: 0, piece: 'fresh' }]);
    expect(first.raw.onDrop.cbs.size + first.raw.onLeave.cbs.size + first.raw.onReconnect.cbs.size).toBe(0);
  });

  it('a reconnection within afterMs keeps the room (no re-join)', async () => {
    const t = rejoining(2000);
    const first = t.rooms[0]!;
    dead(first);
    t.clock.advance(800);
    first.raw.connection.isOpen = true;
    first.raw.onReconnect.fire();
    t.clock.advance(5000);
    await settle();
    expect(t.joins()).toBe(0);
    expect(t.l.room).toBe(first.room);
    expect(t.states.map((x) => x.s)).toEqual(['reconnecting', 'joined']);
  });

  it('close code 4001 (the server drains) re-joins at once; another close code ends the session', async () => {
    const t = rejoining();
    t.rooms[0]!.raw.onLeave.fire(4001, 'server draining: re-join the room by name to continue on another server');
    await settle();
    expect(t.joins()).toBe(1);
    expect(t.states.map((x) => x.s)).toEqual(['rejoining', 'joined']);
    expect(t.states[0]!.why).toMatch(/draining/);
    // on the new room, a kick is a kick
    t.rooms[1]!.raw.onLeave.fire(4000, 'kicked');
    await settle();
    expect(t.joins()).toBe(1);
    expect(t.states.at(-1)).toEqual({ s: 'disconnected', why: 'kicked' });
  });

  it('the SDK giving up on a dropped room re-joins too', async () => {
    const t = rejoining(60_000);
    dead(t.rooms[0]!);
    t.rooms[0]!.raw.onLeave.fire(1006, 'reconnection failed');
    await settle();
    expect(t.joins()).toBe(1);
    expect(t.states.at(-1)!.s).toBe('joined');
  });

  it('retries a failed join, then gives up as disconnected after its attempts', async () => {
    const t = rejoining();
    t.fail(1);
    t.rooms[0]!.raw.onLeave.fire(4001, 'draining');
    await settle();
    expect(t.joins()).toBe(1);
    expect(t.errors[0]).toMatch(/re-joining the room failed: no process answered/);
    t.clock.advance(500);
    await settle();
    expect(t.joins()).toBe(2);
    expect(t.states.at(-1)!.s).toBe('joined');

    const u = rejoining();
    u.fail(3);
    u.rooms[0]!.raw.onLeave.fire(4001, 'draining');
    for (let k = 0; k < 3; k++) {
      await settle();
      u.clock.advance(500);
    }
    await settle();
    expect(u.joins()).toBe(3);
    expect(u.states.at(-1)!.s).toBe('disconnected');
    expect(u.states.at(-1)!.why).toMatch(/could not re-join the room: no process answered/);
  });

  it('dispose during a re-join leaves the room it then gets, and stops the timer', async () => {
    const t = rejoining();
    dead(t.rooms[0]!);
    t.l.dispose();
    expect(t.clock.pending).toBe(0);
    const u = rejoining();
    let resolveJoin!: (r: RoomLike) => void;
    const late = fakeRoom();
    let lateLeft = false;
    late.raw.leave = async () => ((lateLeft = true), 0);
    (u.l as unknown as { rejoin: { join: () => Promise<RoomLike> } }).rejoin.join = () => new Promise((r) => (resolveJoin = r));
    u.rooms[0]!.raw.onLeave.fire(4001, 'draining');
    u.l.dispose();
    resolveJoin(late.room);
    await settle();
    expect(lateLeft).toBe(true);
    expect(u.states.map((x) => x.s)).toEqual(['rejoining', 'disconnected']);
  });
});
