/** One HTTP port: the built plugin and sample game as static files, /metrics, and WebSocket with a tight maxPayload. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScriptedEngine } from '../stand-ins/scripted-engine.ts';
import { inlineNpcs, startTestServer, type RunningServer } from '../support/test-server.ts';
import { TestPlayer, sleep, tone, waitFor } from '../support/test-player.ts';
import { encode, MAX_CLIENT_MESSAGE_BYTES } from '../../protocol/envelope.ts';
import { Kind } from '../../protocol/messages.ts';
import { OPUS_MAX_FRAME_BYTES } from '../../protocol/codecs.ts';
import { MAX_PAYLOAD_BYTES } from '../../server/app.ts';

let srv: RunningServer;
let http: string;
beforeAll(async () => {
  srv = await startTestServer(new ScriptedEngine({ mode: 'echo' }), {
    npcs: inlineNpcs({ alex: {} }),
    rooms: { ship: { npcs: [{ sheet: 'alex', position: [0, 0, 0] }] } },
    serveStatic: true,
  });
  http = srv.url.replace('ws://', 'http://');
});
afterAll(() => srv?.stop());

describe('http', () => {
  it('serves the sample game page and the built bundles', async () => {
    const page = await fetch(`${http}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/dist/sample-game/sample-game.js');
    const bundle = await fetch(`${http}/dist/plugin/parley-plugin.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toMatch(/javascript/);
  });

  it('exposes Prometheus metrics', async () => {
    const p = await new TestPlayer(srv.url).join('ship');
    await p.hello();
    p.pose([0, 0, 1], [0, 0, -1]);
    p.streamVoice(tone(300, 0.1));
    await waitFor(() => p.frames.length > 5, 4000, 'frames');
    p.stopVoice();
    const res = await fetch(`${http}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    // every series carries the process label (one prom-client registry with default labels)
    expect(text).toMatch(/^parley_sessions\{process="[^"]+"\} 1$/m);
    expect(text).toMatch(/^parley_players\{process="[^"]+"\} 1$/m);
    expect(text).toMatch(/^parley_engine_capacity\{process="[^"]+"\} 8$/m);
    for (const name of ['parley_tick_duration_seconds_bucket', 'parley_frames_late_total', 'parley_frames_dropped_total']) {
      expect(text).toContain(name);
    }
    expect(text).toMatch(/parley_bytes_received_total\{stream="voice",process="[^"]+"\} \d+/);
    expect(text).toMatch(/parley_bytes_sent_total\{codec="pcm16",stream="npc_voice",process="[^"]+"\} \d+/);
    expect(text).toMatch(/parley_npcs\{status="listening",process="[^"]+"\} 1|parley_npcs\{status="speaking",process="[^"]+"\} 1/);
    expect(text).toMatch(/^process_cpu_seconds_total\{process="[^"]+"\} /m); // prom-client's default metrics, same registry
    await p.leave();
  });

  it('maxPayload fits the largest legal message; a far larger one drops only that connection', async () => {
    expect(MAX_PAYLOAD_BYTES).toBeGreaterThan(MAX_CLIENT_MESSAGE_BYTES);
    expect(MAX_PAYLOAD_BYTES).toBeLessThan(8 * 1024);
    const good = await new TestPlayer(srv.url).join('ship');
    await good.hello();
    good.pose([0, 0, 1], [0, 0, -1]);
    const big = await new TestPlayer(srv.url, 'opus').join('ship');
    await big.hello();
    // the largest legal voice message arrives (and is judged by its content, not cut off by the transport)
    big.send({ k: Kind.Voice, seq: 1, t: 0, codec: 'opus', data: new Uint8Array(OPUS_MAX_FRAME_BYTES).fill(0xff) });
    await waitFor(() => big.refused.length > 0, 2000, 'refusal');
    expect(big.refused[0]!.code).toBe('corrupt');
    let closed = false;
    big.room.onLeave(() => (closed = true));
    big.sendRaw(new Uint8Array(64 * 1024));
    await waitFor(() => closed, 5000, 'oversized connection closed');
    good.streamVoice(tone(300, 0.1));
    const n = good.frames.length;
    await sleep(600);
    expect(good.frames.length).toBeGreaterThan(n + 4);
    await good.leave();
    expect(encode({ k: Kind.Voice, seq: 1e12, t: 1e12, codec: 'opus', data: new Uint8Array(OPUS_MAX_FRAME_BYTES) }).byteLength).toBeLessThanOrEqual(MAX_CLIENT_MESSAGE_BYTES);
  });
});
