/**
 * The stand-in is as strict as the official server where Parley could go wrong: unknown query keys drop the
 * connection, an empty prompt crashes the handler inside its lock, GET / is a 404 (and still counts as alive),
 * and the prompts live in shared state, so a second client connecting during a prompt phase swaps the first
 * conversation's persona — the reason seats are leased (tests/cluster/engine-leases.test.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { StandInServer } from './stand-in-server.ts';
import { probe } from '../../server/engines/personaplex-server/health.ts';
import { sleep } from '../support/time.ts';

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
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
  return { ws, closed, handshaken: () => handshake };
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
    const c = connect(srv, { text_prompt: '  ', voice_prompt: 'NATF2.pt' });
    expect(await c.closed).toBe(1006);
    expect(c.handshaken()).toBe(false);
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
  it('hangs up on a stream whose first page lacks the beginning-of-stream flag', async () => {
    srv = await StandInServer.start({ promptMs: 20 });
    const c = connect(srv, { text_prompt: 'You are Kess.', voice_prompt: 'NATF2.pt' });
    while (!c.handshaken()) await sleep(5);
    // an Ogg page header with header_type 0 (no BOS): capture pattern, version, flags, then zeros
    const page = Buffer.concat([Buffer.from('OggS', 'latin1'), Buffer.of(0, 0), Buffer.alloc(21)]);
    c.ws.send(Buffer.concat([Buffer.of(0x01), page]));
    expect(await c.closed).toBe(1011);
    expect(srv.stats.dropped).toBe(1);
  });
});
