/**
 * The stand-in is as strict as the official server where Parley could go wrong: unknown query keys drop the
 * connection, an empty prompt crashes the handler inside its lock, GET / is a 404 (and still counts as alive),
 * and the prompts live in shared state, so a second client connecting during a prompt phase swaps the first
 * conversation's persona — the reason seats are leased (tests/cluster/engine-leases.test.ts). On the wire it
 * does what server.py with sphn 0.1.x does: header pages as two messages right after the handshake, an answer
 * page from the first input frame, granules at 24 kHz, text before audio, every decoded sample a step, and a
 * client stream that breaks Ogg's rules (no BOS, bad CRC) ends the conversation. These use a raw client whose
 * Ogg Opus is the stand-in's own (sphn-stream.ts), not Parley's.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { StandInServer } from './stand-in-server.ts';
import { probe } from '../../server/engines/personaplex-server/health.ts';
import { sleep } from '../support/time.ts';
import { SphnStreamReader, SphnStreamWriter, sphnPage } from './sphn-stream.ts';

let srv: StandInServer | null = null;
afterEach(async () => {
  await srv?.close();
  srv = null;
});

function connect(s: StandInServer, query: Record<string, string>) {
  const q = new URLSearchParams(query).toString();
  const ws = new WebSocket(`ws://127.0.0.1:${s.port}/api/chat?${q}`);
  let handshake = false;
  ws.on('message', (m: Buffer) => {
    if (m[0] === 0x00) handshake = true;
  });
  ws.on('error', () => undefined);
  const messages: Buffer[] = [];
  ws.on('message', (m: Buffer) => messages.push(m));
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
  return { ws, closed, handshaken: () => handshake, messages };
}

async function until(cond: () => boolean, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await sleep(5);
  return cond();
}

/** An Ogg page's fields, read directly (not through Parley's or the stand-in's reader). */
function pageOf(msg: Buffer) {
  const page = msg.subarray(1);
  const body = page.subarray(27 + page[26]!);
  return { kind: msg[0], capture: page.toString('latin1', 0, 4), flags: page[5]!, granule: page.readBigInt64LE(6), magic: body.toString('latin1', 0, 8), body };
}

/** A client stream for the stand-in (sphn's writer has the BOS flag on its first page, as Parley's must). */
function clientStream(frames: number, f = 440) {
  const w = new SphnStreamWriter();
  for (let k = 0; k < frames; k++) w.appendPcm(Float32Array.from({ length: 1920 }, (_, i) => 0.3 * Math.sin((2 * Math.PI * f * (k * 1920 + i)) / 24_000)));
  const chunks: Buffer[] = [];
  for (let c = w.read(); c; c = w.read()) chunks.push(Buffer.concat([Buffer.of(0x01), c]));
  w.close();
  return chunks;
}

describe('the PersonaPlex stand-in server', () => {
  it('drops a connection with an unknown query key (the real server raises KeyError on seed)', async () => {
    srv = await StandInServer.start();
    const c = connect(srv, { text_prompt: 'You are Kess.', voice_prompt: 'NATF2.pt', seed: '42' });
    expect(await c.closed).toBe(1006);
    expect(c.handshaken()).toBe(false);
    expect(srv.stats.dropped).toBe(1);
  });

  it('crashes on an empty prompt inside its lock (close 1006, no handshake)', async () => {
    srv = await StandInServer.start();
    const c = connect(srv, { text_prompt: '', voice_prompt: 'NATF2.pt' });
    expect(await c.closed).toBe(1006);
    expect(c.handshaken()).toBe(false);
  });

  it('runs a whitespace-only prompt as the real server does (wrapped in <system> tags: no crash, no persona)', async () => {
    srv = await StandInServer.start({ promptMs: 20 });
    const c = connect(srv, { text_prompt: '   ', voice_prompt: 'NATF2.pt' });
    expect(await until(c.handshaken)).toBe(true);
    expect(srv.stats.dropped).toBe(0);
    c.ws.close();
  });

  it('drops the connection (1006, no handshake) for a missing query key or a voice file it lacks', async () => {
    srv = await StandInServer.start({ promptMs: 20 });
    const noVoice = connect(srv, { text_prompt: 'You are Kess.' });
    expect(await noVoice.closed).toBe(1006);
    const lacks = connect(srv, { text_prompt: 'You are Kess.', voice_prompt: 'captain_r.wav' });
    expect(await lacks.closed).toBe(1006);
    expect(lacks.handshaken()).toBe(false);
    expect(srv.stats.rejected).toEqual(['(no voice_prompt)', 'captain_r.wav']);
  });

  it('answers 404 on GET /, which the health probe still counts as alive', async () => {
    srv = await StandInServer.start();
    const res = await fetch(`${srv.url}/`);
    expect(res.status).toBe(404);
    expect(await probe(new URL(srv.url), 1000)).toEqual({ ok: true });
  });

  it("a client that connects during another's prompt phase gives that conversation its persona", async () => {
    srv = await StandInServer.start({ promptMs: 300 });
    const a = connect(srv, { text_prompt: 'You are Kess.', voice_prompt: 'NATF2.pt' });
    await sleep(100); // a is in its prompt phase
    const b = connect(srv, { text_prompt: 'You are Vance.', voice_prompt: 'NATM1.pt' });
    const until = Date.now() + 5000;
    while (!a.handshaken() && Date.now() < until) await sleep(10);
    expect(a.handshaken()).toBe(true);
    expect(srv.stats.ranWith[0]).toBe('You are Vance.');
    a.ws.close();
    b.ws.close();
  });

  it('stops the prompt phase of a client that has gone and serves the next one at once (is_alive between steps)', async () => {
    srv = await StandInServer.start({ promptMs: 3000 });
    const a = connect(srv, { text_prompt: 'You are Kess.', voice_prompt: 'NATF2.pt' });
    await until(() => srv!.stats.connections === 1);
    await sleep(100);
    const b = connect(srv, { text_prompt: 'You are Vance.', voice_prompt: 'NATM1.pt' });
    await sleep(100);
    a.ws.terminate();
    const t0 = Date.now();
    // b's own prompt phase (3 s) starts as soon as a's ends: well before a's 3 s would have run out
    expect(await until(b.handshaken, 8000)).toBe(true);
    expect(Date.now() - t0).toBeLessThan(3000 + 2000);
    expect(srv.stats.ranWith).toEqual(['You are Vance.']);
    b.ws.close();
  });

  it('takes prompt time in proportion to the prompt', async () => {
    srv = await StandInServer.start({ promptMs: 50, promptMsPerWord: 5 });
    const time = async (words: number) => {
      const t0 = Date.now();
      const c = connect(srv!, { text_prompt: Array(words).fill('word').join(' '), voice_prompt: 'NATF2.pt' });
      while (!c.handshaken()) await sleep(5);
      c.ws.close();
      await c.closed;
      return Date.now() - t0;
    };
    const short = await time(2);
    const long = await time(100);
    expect(long - short).toBeGreaterThan(300); // 98 words × 5 ms = 490 ms more
  });
});

describe('the stand-in reads the audio stream as sphn does', () => {
  it('ends the conversation on a stream whose first page lacks the beginning-of-stream flag', async () => {
    srv = await StandInServer.start({ promptMs: 20 });
    const c = connect(srv, { text_prompt: 'You are Kess.', voice_prompt: 'NATF2.pt' });
    while (!c.handshaken()) await sleep(5);
    // a well-formed page (CRC right) with header_type 0: sphn's reader stops, read_pcm() gives None, opus_loop
    // fails on it and the handler closes the socket normally
    c.ws.send(Buffer.concat([Buffer.of(0x01), sphnPage(new Uint8Array([0xf8, 0xff, 0xfe]), 960, 0, 0)]));
    expect(await c.closed).toBe(1000);
    expect(srv.stats.dropped).toBe(1);
    expect(srv.stats.streamErrors).toEqual(["a stream's first page lacks the beginning-of-stream flag"]);
  });

  it('ends the conversation on a page whose CRC is wrong, after the frames before it', async () => {
    srv = await StandInServer.start({ promptMs: 20 });
    const c = connect(srv, { text_prompt: 'You are Kess.', voice_prompt: 'NATF2.pt' });
    while (!c.handshaken()) await sleep(5);
    const stream = clientStream(4);
    const bad = Buffer.from(stream[4]!);
    bad[bad.length - 1]! ^= 0x55;
    for (const m of [...stream.slice(0, 4), bad]) c.ws.send(m);
    expect(await c.closed).toBe(1000);
    expect(srv.stats.framesIn).toBe(2);
    expect(srv.stats.streamErrors).toEqual(['CRC32 hash mismatch']);
  });

  it('sends OpusHead and OpusTags as two messages right after the handshake, before any input', async () => {
    srv = await StandInServer.start({ promptMs: 20 });
    const c = connect(srv, { text_prompt: 'You are Kess.', voice_prompt: 'NATF2.pt' });
    expect(await until(() => c.messages.length >= 3)).toBe(true);
    await sleep(100);
    expect(c.messages.map((m) => m[0])).toEqual([0x00, 0x01, 0x01]);
    const [head, tags] = c.messages.slice(1).map(pageOf);
    expect(head).toMatchObject({ capture: 'OggS', flags: 0x02, granule: 0n, magic: 'OpusHead' });
    expect(head!.body.readUInt16LE(10)).toBe(3840); // sphn's pre-skip: one 80 ms frame at 48 kHz
    expect(head!.body.readUInt32LE(12)).toBe(24_000);
    expect(tags).toMatchObject({ capture: 'OggS', flags: 0, granule: 0n, magic: 'OpusTags' });
    c.ws.close();
  });

  it('answers from the first input frame (no warm-up): text just before its page, granules counted at 24 kHz', async () => {
    srv = await StandInServer.start({ promptMs: 20, words: ['Re|actor|,'] });
    const c = connect(srv, { text_prompt: 'You are Kess.', voice_prompt: 'NATF2.pt' });
    while (c.messages.length < 3) await sleep(5);
    const stream = clientStream(3);
    c.ws.send(stream[0]!);
    c.ws.send(stream[1]!);
    await sleep(150);
    expect(c.messages.length).toBe(3); // headers alone: no step without input
    c.ws.send(stream[2]!); // the first audio page: 1920 samples, one step at once
    expect(await until(() => c.messages.length >= 5)).toBe(true);
    for (const m of stream.slice(3)) c.ws.send(m);
    expect(await until(() => c.messages.length >= 9)).toBe(true);
    const after = c.messages.slice(3).map((m) => (m[0] === 0x02 ? m.subarray(1).toString('utf8') : pageOf(m).granule));
    // the tokenizer's pieces: a word start with its space, a continuation, punctuation; each before its step's page
    expect(after).toEqual([' Re', 1920n, 'actor', 3840n, ',', 5760n]);
    expect(srv.stats.framesIn).toBe(3);
    c.ws.close();
  });

  it("in 'audio-first' order (Kyutai's moshi server) a step's page comes before its text", async () => {
    srv = await StandInServer.start({ promptMs: 20, words: ['Re|actor'], order: 'audio-first' });
    const c = connect(srv, { text_prompt: 'You are Kess.', voice_prompt: 'NATF2.pt' });
    while (c.messages.length < 3) await sleep(5);
    for (const m of clientStream(2)) c.ws.send(m);
    expect(await until(() => c.messages.length >= 7)).toBe(true);
    const after = c.messages.slice(3).map((m) => (m[0] === 0x02 ? m.subarray(1).toString('utf8') : pageOf(m).granule));
    expect(after).toEqual([1920n, ' Re', 3840n, 'actor']);
    c.ws.close();
  });

  it('counts every decoded sample as input (pre-skip and granules ignored) and its pages decode with an independent reader', async () => {
    srv = await StandInServer.start({ promptMs: 20, mode: 'echo' });
    const c = connect(srv, { text_prompt: 'You are Kess.', voice_prompt: 'NATF2.pt' });
    while (c.messages.length < 3) await sleep(5);
    for (const m of clientStream(10)) c.ws.send(m);
    expect(await until(() => c.messages.length >= 13)).toBe(true);
    expect(srv.stats.framesIn).toBe(10);
    const r = new SphnStreamReader();
    for (const m of c.messages.slice(1)) r.append(m.subarray(1));
    expect(r.error).toBeNull();
    expect(r.readPcm().length).toBe(10 * 1920);
    r.close();
    c.ws.close();
  });
});
