/**
 * `npm run bench abuse`: hostile clients (bench/support/abuse-clients.ts, in their own process) against a server
 * with the limits on, while a good player talks to Alex: seat hoarding, a voice flood, 8 × 100 MB matchmaker
 * bodies, a log flood of malformed transport frames, and a room lock by seat reservations. For each: the good
 * player's NPC voice frames/s and largest gap (end to end through the server, received by the client), the
 * server's RSS growth and its log growth (lines and bytes), and how busy the server's event loop (the room thread,
 * which the good player's client shares here) was. The engine is the in-thread echo stand-in.
 *
 * Then the room thread's cost of one flooded voice frame past the budget, measured in this run: through the
 * player link as the room now takes it (admit: a look at the first bytes, a token-bucket check, a counter), and
 * re-enacting what it did before (msgpack decode, then the budget, then two labelled metric increments).
 * PARLEY_ABUSE=flood,logs runs only those scenarios.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Client } from '@colyseus/core';
import { decodeClient, encode } from '../protocol/envelope.ts';
import { Kind } from '../protocol/messages.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import type { DuplexEngine } from '../server/engines/contract.ts';
import { silentLogger } from '../server/log.ts';
import { createParleyMetrics } from '../server/metrics/parley-metrics.ts';
import { PlayerLink } from '../server/room/player-link.ts';
import { PlayerState } from '../server/room/state.ts';
import { FrameBudget } from '../server/voice/frame-budget.ts';
import { ScriptedEngine } from '../tests/stand-ins/scripted-engine.ts';
import { inlineNpcs, startTestServer } from '../tests/support/test-server.ts';
import { TestPlayer, sleep, tone, waitFor } from '../tests/support/test-player.ts';
import { hmacVerifier, signToken } from '../server/room/join-guard.ts';

const CLIENTS = fileURLToPath(new URL('./support/abuse-clients.ts', import.meta.url));
const TSX = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));
const SECRET = 'abuse-bench-secret-0123456789';
const SECONDS = 6;
const ALL = ['baseline', 'hoard', 'flood', 'bodies', 'logs', 'lock'];
const SCENARIOS = process.env.PARLEY_ABUSE ? ALL.filter((s) => process.env.PARLEY_ABUSE!.split(',').includes(s)) : ALL;

/** µs per over-budget voice frame on the room thread: as the room takes it now, and the decode-first path it replaced. */
function floodCost(): { admitUs: number; decodeFirstUs: number } {
  const raw = encode({ k: Kind.Voice, seq: 1, t: 0, codec: 'opus', data: new Uint8Array(60).fill(0x55) });
  const metrics = createParleyMetrics();
  const client = { sessionId: 'bench', sendBytes: () => {} } as unknown as Client;
  const engine = { textLeadFrames: 0, label: 'bench' } as unknown as DuplexEngine;
  const N = 50_000;
  const now = 1e12; // one instant: past the burst every frame is over budget (and the link never drops: see below)
  const time = (f: () => void) => {
    for (let i = 0; i < 2000; i++) f();
    const t0 = performance.now();
    for (let i = 0; i < N; i++) f();
    return ((performance.now() - t0) * 1000) / N;
  };
  // 100 frames per link, fewer than drop a player (which stops all reading): links made before the clock starts
  const links = Array.from({ length: N / 100 + 21 }, () => {
    const l = new PlayerLink(client, new PlayerState(), metrics, silentLogger, {});
    l.hello({ k: Kind.Hello, v: PROTOCOL_VERSION, send: ['opus'], recv: ['opus'] }, engine);
    for (let i = 0; i < 8; i++) l.admit(raw, now); // the burst
    return l;
  });
  let n = 0;
  const admitUs = time(() => void links[Math.floor(n++ / 100)]!.admit(raw, now));
  const budget = new FrameBudget({ dropAfter: Number.MAX_SAFE_INTEGER });
  const decodeFirstUs = time(() => {
    decodeClient(raw);
    metrics.bytesReceived.inc({ stream: 'voice' }, raw.byteLength);
    if (budget.take(now) !== 'take') metrics.framesDropped.inc({ stream: 'player_voice', reason: 'overflow' });
  });
  return { admitUs, decodeFirstUs };
}

function attack(url: string, scenario: string): Promise<Record<string, number>> {
  return new Promise((resolve) => {
    if (scenario === 'baseline') return void setTimeout(() => resolve({}), SECONDS * 1000);
    const child = spawn(TSX, [CLIENTS, url, scenario, String(SECONDS)], { env: { ...process.env, ABUSE_SECRET: SECRET }, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', () => {
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}'));
      } catch {
        resolve({});
      }
    });
  });
}

export default async function abuse(): Promise<Record<string, number>> {
  const srv = await startTestServer(new ScriptedEngine({ mode: 'echo', capacity: 4 }), {
    npcs: inlineNpcs({ alex: { hearingRadius: 6, audibleRadius: 12 } }),
    rooms: { bay: { npcs: [{ sheet: 'alex', position: [0, 0, 0] }], echoGate: false } },
    verifier: hmacVerifier(SECRET),
    joinLimits: { exemptLoopback: false, joinsPerMinutePerIp: 200, joinsPerMinutePerIdentity: 30, seatsPerIdentity: 2, roomsPerScene: 2 },
  });
  const good = await new TestPlayer(srv.url, 'pcm16').join('bay', { token: signToken(SECRET, 'alice', Date.now() + 600_000) });
  await good.hello();
  good.pose([0, 0, 2], [0, 0, -1]);
  good.streamVoice(tone(300, 0.2));
  await waitFor(() => good.framesFrom('alex').length >= 10, 10_000, 'good player served');
  const figures: Record<string, number> = {};
  for (const scenario of SCENARIOS) {
    global.gc?.();
    const rss0 = process.memoryUsage().rss;
    const lines0 = srv.logs.length;
    const bytes0 = srv.logs.reduce((n, l) => n + l.length, 0);
    const from = good.frames.length;
    const elu0 = performance.eventLoopUtilization();
    const t0 = Date.now();
    const [got] = await Promise.all([attack(srv.url, scenario), sleep(SECONDS * 1000)]);
    const elapsed = (Date.now() - t0) / 1000;
    const busy = performance.eventLoopUtilization(elu0).utilization;
    const frames = good.frames.slice(from).filter((f) => f.npc === 'alex');
    let gap = 0;
    let gapAt = 0; // when the largest gap ended, s into the scenario
    for (let i = 1; i < frames.length; i++) {
      const d = frames[i]!.at - frames[i - 1]!.at;
      if (d > gap) [gap, gapAt] = [d, (frames[i]!.at - t0) / 1000];
    }
    const rssPeak = process.memoryUsage().rss;
    await sleep(1000);
    const bytes = srv.logs.reduce((n, l) => n + l.length, 0) - bytes0;
    Object.assign(figures, {
      [`abuse_${scenario}_good_frames_per_s`]: frames.length / elapsed,
      [`abuse_${scenario}_good_max_gap_ms`]: gap,
      [`abuse_${scenario}_good_max_gap_at_s`]: gapAt,
      [`abuse_${scenario}_rss_growth_mb`]: (rssPeak - rss0) / 2 ** 20,
      [`abuse_${scenario}_log_lines`]: srv.logs.length - lines0,
      [`abuse_${scenario}_log_kb`]: bytes / 1024,
      [`abuse_${scenario}_loop_busy_pct`]: busy * 100,
      ...(got.joined !== undefined ? { [`abuse_${scenario}_attacker_admitted`]: got.joined } : {}),
    });
    process.stderr.write(`  ${scenario}: ${JSON.stringify(got)} good ${(frames.length / elapsed).toFixed(1)} frames/s, max gap ${gap} ms (ending ${gapAt.toFixed(1)} s in), loop busy ${(busy * 100).toFixed(0)} %\n`);
  }
  await good.leave();
  await srv.stop();
  const cost = floodCost();
  process.stderr.write(`  one over-budget voice frame on the room thread: ${cost.admitUs.toFixed(2)} µs (admit) vs ${cost.decodeFirstUs.toFixed(2)} µs (decode first, as before)\n`);
  figures.abuse_flood_frame_cost_admit_us = cost.admitUs;
  figures.abuse_flood_frame_cost_decode_first_us = cost.decodeFirstUs;
  return figures;
}
