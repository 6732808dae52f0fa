import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { OpenProgress } from '../../server/engines/contract.ts';
import type { PersonaPlexServerEngine } from '../../server/engines/personaplex-server/engine.ts';
import { StandInServer } from './stand-in-server.ts';
import { drive, persona, rms, silence, sleep, startEngine, tone } from './helpers.ts';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!().catch(() => undefined);
});
async function server(opts: Parameters<typeof StandInServer.start>[0] = {}) {
  const s = await StandInServer.start(opts);
  cleanup.push(() => s.close());
  return s;
}
async function engine(...args: Parameters<typeof startEngine>) {
  const e = await startEngine(...args);
  cleanup.push(() => e.dispose());
  return e;
}
const texts = (frames: { text?: string }[]) => frames.map((f, i) => [i, f.text] as const).filter(([, t]) => t !== undefined);

describe('a conversation with the stand-in server', () => {
  it.each(['inline', 'worker'] as const)('handshakes, then streams Ogg Opus both ways with text pieces on their frames (%s codec)', async (codec) => {
    const srv = await server({ promptMs: 600 });
    const e = await engine([{ url: srv.url, capacity: 1 }], { codec });
    expect(e.capacity).toBe(1);
    expect(e.textLeadFrames).toBe(0);
    const progress: OpenProgress[] = [];
    const id = await e.open(persona(), { onProgress: (p) => progress.push(p) });

    // the prompts travel in the query; the voice as its .pt file name only
    expect(srv.stats.queries).toEqual([{ text_prompt: persona().textPrompt, voice_prompt: 'NATF2.pt' }]);
    expect(srv.stats.swallowed).toBe(0); // nothing sent before the handshake
    expect(progress[0]).toEqual({ phase: 'connecting', fraction: 0 });
    expect(progress.some((p) => p.phase === 'prompt' && p.fraction > 0.05 && p.fraction < 1)).toBe(true);
    expect(progress.at(-1)).toEqual({ phase: 'prompt', fraction: 1 });

    const out = (await drive(e, [id], 40)).map((f) => f[0]!);
    expect(out.every((o) => o.error === undefined && o.output.length === 1920)).toBe(true);
    // every page we sent becomes a step on the server (the last ones may still be on their way): all 40, as
    // sphn's reader counts every decoded sample and applies no pre-skip
    for (let i = 0; i < 50 && srv.stats.framesIn < 40; i++) await sleep(20);
    await sleep(100);
    expect(srv.stats.framesIn).toBe(40);
    // the stand-in speaks "Reactor core is failing": ▁-pieces in order, each on the first frame of its tone burst
    const t = texts(out);
    expect(t.map(([, p]) => p).slice(0, 4)).toEqual(['▁Reactor', '▁core', '▁is', '▁failing']);
    for (const [i] of t) {
      expect(rms(out[i]!.output)).toBeGreaterThan(0.1);
      if (i > 0) expect(rms(out[i - 1]!.output)).toBeLessThan(0.05); // a gap before each word: lead 0 holds
    }
  });

  it.each(['inline', 'worker'] as const)("Kyutai's order (audio page, then its text) with textOrder 'after-audio': pieces on their frames (%s codec)", async (codec) => {
    const srv = await server({ promptMs: 600, order: 'audio-first' }); // the worker codec boots meanwhile
    const e = await engine([{ url: srv.url, capacity: 1 }], { codec, textOrder: 'after-audio' });
    const id = await e.open(persona());
    const out = (await drive(e, [id], 30)).map((f) => f[0]!);
    expect(out.every((o) => o.error === undefined)).toBe(true);
    const t = texts(out);
    expect(t.map(([, p]) => p).slice(0, 4)).toEqual(['▁Reactor', '▁core', '▁is', '▁failing']);
    for (const [i] of t) {
      expect(rms(out[i]!.output)).toBeGreaterThan(0.1);
      expect(rms(out[i - 1]!.output)).toBeLessThan(0.05); // the frame before each word is the gap: not a frame late
    }
  });

  it("Kyutai's order without the setting puts every piece a frame late (why textOrder exists)", async () => {
    const srv = await server({ promptMs: 50, order: 'audio-first' });
    const e = await engine([{ url: srv.url, capacity: 1 }], { codec: 'inline' });
    const id = await e.open(persona());
    const out = (await drive(e, [id], 30)).map((f) => f[0]!);
    const t = texts(out);
    expect(t.length).toBeGreaterThanOrEqual(3);
    for (const [i] of t.slice(1)) expect(rms(out[i - 1]!.output)).toBeGreaterThan(0.1); // its word began a frame earlier
    await expect(engine([{ url: srv.url, capacity: 1 }], { textOrder: 'sideways' as never })).rejects.toThrow(/textOrder must be/);
  });

  it('continuation pieces and punctuation arrive as the server sends them, one a frame, with no word marker', async () => {
    const srv = await server({ promptMs: 50, words: ['Re|actor|,', 'core', 'failing|.'] });
    const e = await engine([{ url: srv.url, capacity: 1 }]);
    const id = await e.open(persona());
    const out = (await drive(e, [id], 20)).map((f) => f[0]!);
    const t = texts(out);
    expect(t.map(([, p]) => p).slice(0, 6)).toEqual(['▁Re', 'actor', ',', '▁core', '▁failing', '.']);
    // a word's pieces on consecutive frames of its burst
    expect(t[1]![0] - t[0]![0]).toBe(1);
    expect(t[2]![0] - t[1]![0]).toBe(1);
    expect(t[5]![0] - t[4]![0]).toBe(1);
  });

  it('carries what the NPC hears to the server: an echo comes back a fixed number of frames later', async () => {
    const srv = await server({ mode: 'echo', promptMs: 50 });
    const e = await engine([{ url: srv.url, capacity: 1 }]);
    const id = await e.open(persona());
    const loud = (k: number) => k >= 10 && k < 20;
    // at the real tick rate, so the jitter buffer never has to rebuffer inside the burst
    const out = (await drive(e, [id], 40, (k) => (loud(k) ? tone(440, k) : silence()), 80)).map((f) => rms(f[0]!.output));
    const first = out.findIndex((r) => r > 0.1);
    const last = out.length - 1 - [...out].reverse().findIndex((r) => r > 0.1);
    expect(first).toBeGreaterThan(10);
    expect(last - first).toBeGreaterThanOrEqual(8); // ~10 frames of tone, edges softened by the codec
    expect(last - first).toBeLessThanOrEqual(11);
  });

  it('documents the stand-in: early messages are swallowed, and a second client waits silently for the first', async () => {
    const srv = await server({ promptMs: 200 });
    const url = `ws://127.0.0.1:${srv.port}/api/chat?text_prompt=hi&voice_prompt=NATM0.pt`;
    const a = new WebSocket(url);
    const aGot: number[] = [];
    a.on('message', (d: Buffer) => aGot.push(d[0]!));
    await new Promise((r) => a.once('open', r));
    a.send(Buffer.of(0x01, 1, 2, 3)); // during the prompt phase: read and discarded
    const b = new WebSocket(url);
    const bGot: number[] = [];
    b.on('message', (d: Buffer) => bGot.push(d[0]!));
    await sleep(500);
    expect(aGot).toEqual([0x00, 0x01, 0x01]); // the handshake, then the OpusHead and OpusTags pages
    expect(bGot).toEqual([]); // queued, not a word
    expect(srv.stats.swallowed).toBe(1);
    a.close();
    await sleep(500);
    expect(bGot).toEqual([0x00, 0x01, 0x01]);
    expect(srv.stats.maxConcurrent).toBe(1);
    b.close();
  });
});

describe('the pool', () => {
  it('never puts more conversations on a server than its capacity; the engine capacity is the sum', async () => {
    const a = await server();
    const b = await server();
    const e = await engine([{ url: a.url, capacity: 1 }, { url: `ws://127.0.0.1:${b.port}`, capacity: 1 }]);
    expect(e.capacity).toBe(2);
    const s1 = await e.open(persona());
    const s2 = await e.open(persona({ voice: { kind: 'builtin', id: 'VARM3' } }));
    expect(a.stats.conversations + b.stats.conversations).toBe(2);
    expect(a.stats.conversations).toBe(1);
    await expect(e.open(persona())).rejects.toThrow(/no PersonaPlex server can take a conversation now.*1\/1 busy/);
    await e.close(s1);
    const s3 = await e.open(persona());
    expect(a.stats.conversations).toBe(2);
    const out = await drive(e, [s2, s3], 20);
    expect(out.flat().every((o) => !o.error)).toBe(true);
  });

  it('rejects bad configuration clearly', async () => {
    await expect(startEngine([])).rejects.toThrow(/at least one server/);
    await expect(startEngine([{ url: 'ftp://x', capacity: 1 }])).rejects.toThrow(/http\(s\):\/\/ or ws\(s\):\/\//);
    await expect(startEngine([{ url: 'http://127.0.0.1:1', capacity: 0 }])).rejects.toThrow(/capacity must be an integer/);
    await expect(startEngine([{ url: 'http://127.0.0.1:1', capacity: 1 }, { url: 'ws://127.0.0.1:1', capacity: 1 }])).rejects.toThrow(/listed twice/);
  });
});

describe('voice and prompt checks', () => {
  it('never sends a path the sheet could steer; a WAV voice goes by base name, and a missing file is a clear error', async () => {
    const srv = await server();
    const e = await engine([{ url: srv.url, capacity: 1 }]);
    await expect(e.open(persona({ voice: { kind: 'wav', path: '../../etc/passwd' } }))).rejects.toThrow(/not allowed/);
    await expect(e.open(persona({ voice: { kind: 'wav', path: 'voices/..wav' } }))).rejects.toThrow(/not allowed/);
    await expect(e.open(persona({ voice: { kind: 'builtin', id: 'NOPE' as never } }))).rejects.toThrow(/unknown built-in voice/);
    expect(srv.stats.connections).toBe(0);
    await expect(e.open(persona({ voice: { kind: 'wav', path: '/home/studio/voices/captain_r.wav' } }))).rejects.toThrow(
      /closed the connection before its handshake.*voice_prompt/,
    );
    expect(srv.stats.rejected).toEqual(['captain_r.wav']);
    expect(e.status()[0]!.state).toBe('up'); // a refused request is not held against the server
    await expect(e.open(persona())).resolves.toBeTypeOf('number');
  });

  it('refuses a prompt too long for the official server request line', async () => {
    const srv = await server();
    const e = await engine([{ url: srv.url, capacity: 1 }]);
    await expect(e.open(persona({ textPrompt: 'Ω'.repeat(3000) }))).rejects.toThrow(/too long for the server's request line/);
    expect(srv.stats.connections).toBe(0);
  });
});

describe('faults: rooms stay up, sessions fail alone, new sessions recover elsewhere', () => {
  async function twoServers(fault: Parameters<typeof StandInServer.start>[0]) {
    const bad = await server(fault);
    const good = await server();
    const e = await engine([{ url: bad.url, capacity: 1 }, { url: good.url, capacity: 1 }], { maxLagFrames: 12 });
    return { bad, good, e };
  }
  /** steps until the session reports an error, or n steps */
  async function untilError(e: PersonaPlexServerEngine, id: number, n = 80) {
    return (await drive(e, [id], n, undefined, 20, 1000, (out) => out[0]!.error !== undefined)).map(([o]) => o!);
  }

  it('server dies mid-conversation: the session errors, the server is down, a new session runs on the other', async () => {
    const { bad, good, e } = await twoServers({ fault: { kind: 'die', afterFrames: 8 } });
    const id = await e.open(persona());
    expect(bad.stats.conversations).toBe(1);
    const seen = await untilError(e, id);
    expect(seen.at(-1)!.error?.message).toMatch(/server ended the conversation|is down/);
    expect(seen.at(-1)!.output).toHaveLength(1920);
    await e.close(id);
    await sleep(400);
    expect(e.status()[0]!.state).toBe('down');
    const id2 = await e.open(persona());
    expect(good.stats.conversations).toBe(1);
    const out = await drive(e, [id2], 20);
    expect(out.every(([o]) => !o!.error)).toBe(true);
    expect(texts(out.map(([o]) => o!)).length).toBeGreaterThan(0);
  });

  it('server never handshakes: open fails after its timeout, the server is benched, the next open lands elsewhere', async () => {
    const bad = await server({ fault: { kind: 'never-handshake' } });
    const good = await server();
    const e = await engine([{ url: bad.url, capacity: 1 }, { url: good.url, capacity: 1 }], { handshakeTimeoutMs: 600, handshakeMsPerStep: 0 });
    await expect(e.open(persona())).rejects.toThrow(/no handshake within 600 ms/);
    expect(e.status()[0]!.state).toBe('down');
    await e.open(persona());
    expect(good.stats.conversations).toBe(1);
  });

  it.each(['ogg', 'kind', 'error'] as const)('server sends garbage (%s): that session errors, a session on another server is untouched', async (what) => {
    const { good, e } = await twoServers({ fault: { kind: 'garbage', afterFrames: 6, what } });
    const a = await e.open(persona());
    const b = await e.open(persona());
    expect(good.stats.conversations).toBe(1);
    const out = await drive(e, [a, b], 30);
    const errA = out.map(([o]) => o!.error).find(Boolean);
    expect(errA?.message).toMatch({ ogg: /bad audio from server: .*Ogg/, kind: /unknown message kind 0x7f/, error: /server error: CUDA out of memory/ }[what]);
    expect(out.every(([, o]) => !o!.error)).toBe(true);
    expect(out.slice(-1)[0]![0]!.error).toBe(errA); // it stays failed until the room closes it
  });

  it('slow server: silence on underrun, then an error once it is too far behind real time; it is benched', async () => {
    const { e } = await twoServers({ fault: { kind: 'slow', frameMs: 60 } });
    const id = await e.open(persona());
    const seen = await untilError(e, id, 120);
    const err = seen.at(-1)!.error;
    expect(err?.message).toMatch(/behind real time/);
    expect(err?.kind).toBe('timeout');
    expect(seen.filter((o) => !o.error && rms(o.output) === 0).length).toBeGreaterThan(0);
    expect(e.status()[0]!.state).toBe('down'); // benched for a backoff
    expect(e.logLines.some((l) => /benched/.test(l))).toBe(true);
  });

  it('hung server (no output, no HTTP answer): the health check declares it down and fails its session', async () => {
    const { e } = await twoServers({ fault: { kind: 'hang', afterFrames: 5 }, });
    const id = await e.open(persona());
    const seen = await untilError(e, id, 120);
    expect(seen.at(-1)!.error?.message).toMatch(/is down: health check failed|behind real time/);
    await sleep(300);
    expect(e.status()[0]!.state).toBe('down');
    await expect(e.open(persona())).resolves.toBeTypeOf('number');
  });

  it('a server that comes back is used again (probed with backoff)', async () => {
    const first = await server();
    const port = first.port;
    const e = await engine([{ url: first.url, capacity: 1 }]);
    first.kill();
    await sleep(600);
    expect(e.status()[0]!.state).toBe('down');
    await expect(e.open(persona())).rejects.toThrow(/no PersonaPlex server can take a conversation now/);
    await server({ port });
    for (let i = 0; i < 40 && e.status()[0]!.state !== 'up'; i++) await sleep(100);
    expect(e.status()[0]!.state).toBe('up');
    await expect(e.open(persona())).resolves.toBeTypeOf('number');
  });
});
