/**
 * Hostile clients for bench/abuse.bench.ts, in their own process so their CPU is not the server's:
 * `tsx abuse-clients.ts URL SCENARIO SECONDS` (hoard | flood | bodies | logs | lock). Prints one JSON line of what
 * it managed (joins that got in, requests refused, …) and exits.
 */
import { Client } from '@colyseus/sdk';
import { encode } from '../../protocol/envelope.ts';
import { Kind, PARLEY_CHANNEL } from '../../protocol/messages.ts';
import { PROTOCOL_VERSION } from '../../protocol/version.ts';
import { signToken } from '../../server/room/join-guard.ts';

const [url, scenario, seconds] = [process.argv[2]!, process.argv[3]!, Number(process.argv[4] ?? 5)];
const http = url.replace('ws://', 'http://');
const until = Date.now() + seconds * 1000;
const token = (id: string) => signToken(process.env.ABUSE_SECRET ?? '', id, Date.now() + 600_000);
const got = { joined: 0, refused: 0, sent: 0, closed: 0 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function join(id: string, method: 'joinOrCreate' | 'create' = 'joinOrCreate') {
  try {
    const room = await new Client(url)[method]('bay', { protocol: PROTOCOL_VERSION, token: token(id) });
    got.joined++;
    room.onLeave(() => got.closed++);
    return room;
  } catch {
    got.refused++;
    return null;
  }
}

if (scenario === 'hoard') {
  // many joins and rooms, a pose next to the NPC, hello, no voice
  const rooms = [];
  for (let i = 0; i < 64 && Date.now() < until; i++) {
    const r = await join('mallory', i % 2 ? 'create' : 'joinOrCreate');
    if (!r) continue;
    r.sendBytes(PARLEY_CHANNEL, encode({ k: Kind.Hello, v: PROTOCOL_VERSION, send: ['pcm16'], recv: ['pcm16'] }));
    r.sendBytes(PARLEY_CHANNEL, encode({ k: Kind.Pose, p: [0, 0, 0.1], f: [0, 0, -1] }));
    rooms.push(r);
  }
  while (Date.now() < until) await sleep(100);
} else if (scenario === 'flood') {
  // 30 connections, each ~190 valid-looking Opus frames/s (under the transport's message limit)
  const rooms = (await Promise.all(Array.from({ length: 30 }, (_, i) => join(`flood${i}`)))).filter((r) => r !== null);
  const frame = new Uint8Array(60).fill(0x55);
  let seq = 0;
  for (const r of rooms) {
    r.sendBytes(PARLEY_CHANNEL, encode({ k: Kind.Hello, v: PROTOCOL_VERSION, send: ['opus'], recv: ['opus'] }));
    r.sendBytes(PARLEY_CHANNEL, encode({ k: Kind.Pose, p: [0, 0, -1], f: [0, 0, 1] }));
  }
  while (Date.now() < until) {
    for (const r of rooms) for (let i = 0; i < 15; i++) {
      try {
        r.sendBytes(PARLEY_CHANNEL, encode({ k: Kind.Voice, seq: seq++, t: 0, codec: 'opus', data: frame }));
        got.sent++;
      } catch { /* dropped */ }
    }
    await sleep(80);
  }
} else if (scenario === 'bodies') {
  // 8 × 100 MB matchmaker bodies at once
  const body = new Uint8Array(100 * 1024 * 1024).fill(0x20);
  await Promise.all(Array.from({ length: 8 }, () =>
    fetch(`${http}/matchmake/joinOrCreate/bay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      .then((r) => (r.status === 200 ? got.joined++ : got.refused++)).catch(() => got.refused++)));
} else if (scenario === 'logs') {
  // malformed Colyseus request frames (protocol byte 21), 300/s, reconnecting when dropped
  while (Date.now() < until) {
    const r = await join(`logs${got.joined}`);
    if (!r) { await sleep(200); continue; }
    const raw = (r as unknown as { connection: { send(b: Uint8Array): void } }).connection;
    for (let i = 0; i < 30 && Date.now() < until; i++) {
      try { raw.send(new Uint8Array([21, i & 0x7f, 0xa1, 0x78, 0xc0])); got.sent++; } catch { break; }
      await sleep(3);
    }
    await sleep(100);
  }
} else if (scenario === 'lock') {
  // 31 seat reservations by id that never connect
  const rooms = await (await fetch(`${http}/matchmake/joinOrCreate/bay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ protocol: PROTOCOL_VERSION, token: token('locker') }) })).json() as { roomId?: string; room?: { roomId: string } };
  const roomId = rooms.roomId ?? rooms.room?.roomId;
  await Promise.all(Array.from({ length: 31 }, () =>
    fetch(`${http}/matchmake/joinById/${roomId}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ protocol: PROTOCOL_VERSION, token: token('locker') }) })
      .then((r) => (r.status === 200 ? got.joined++ : got.refused++))));
  while (Date.now() < until) await sleep(100);
}
console.log(JSON.stringify(got));
process.exit(0);
