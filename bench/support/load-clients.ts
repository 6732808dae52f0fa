/**
 * Stand-in players for the server benchmark, in their own process so their CPU is not counted as the
 * server's. Usage: tsx bench/support/load-clients.ts <ws url> <room> <players> <codec> <seconds>
 * Player i stands 1 m from NPC i (spaced 40 m apart) and streams pre-encoded voice-like frames in real time.
 * Prints one JSON line with what the players received.
 */
import { Client, type Room } from '@colyseus/sdk';
import { encode, decodeServer } from '../../protocol/envelope.ts';
import { Kind, PARLEY_CHANNEL } from '../../protocol/messages.ts';
import { PROTOCOL_VERSION } from '../../protocol/version.ts';
import type { Codec } from '../../protocol/codecs.ts';
import { createEncoder } from '../../server/codec/index.ts';
import { speechLike } from './speech-like.ts';

const [url, roomName, countArg, codecArg, secondsArg] = process.argv.slice(2);
const count = Number(countArg);
const codec = codecArg as Codec;
const seconds = Number(secondsArg);

const enc = createEncoder(codec);
const src = speechLike(7);
const payloads = Array.from({ length: 50 }, () => enc.encode(src()));

const rooms: Room[] = [];
let framesIn = 0;
let bytesIn = 0;
for (let i = 0; i < count; i++) {
  const room = await new Client(url!).joinOrCreate(roomName!, { protocol: PROTOCOL_VERSION });
  room.onMessage(PARLEY_CHANNEL, (bytes: Uint8Array) => {
    bytesIn += bytes.byteLength;
    if (decodeServer(bytes).k === Kind.NpcVoice) framesIn++;
  });
  room.sendBytes(PARLEY_CHANNEL, encode({ k: Kind.Hello, v: PROTOCOL_VERSION, send: [codec], recv: [codec], echo: 'headphones' }));
  room.sendBytes(PARLEY_CHANNEL, encode({ k: Kind.Pose, p: [i * 40, 0, 1], f: [0, 0, -1] }));
  rooms.push(room);
}
process.stdout.write(JSON.stringify({ ready: true }) + '\n');

let seq = 0;
const started = Date.now();
const timer = setInterval(() => {
  const data = payloads[seq % payloads.length]!;
  for (const room of rooms) room.sendBytes(PARLEY_CHANNEL, encode({ k: Kind.Voice, seq, t: Date.now(), codec, data }));
  seq++;
  if (Date.now() - started >= seconds * 1000) {
    clearInterval(timer);
    process.stdout.write(JSON.stringify({ framesIn, bytesIn, sent: seq * rooms.length }) + '\n');
    Promise.all(rooms.map((r) => r.leave().catch(() => 0))).finally(() => process.exit(0));
  }
}, 80);
