/**
 * `npm run bench abuse`: hostile clients (bench/support/abuse-clients.ts, in their own process) against a server
 * with the limits on, while a good player talks to Alex: seat hoarding, a voice flood, 8 × 100 MB matchmaker
 * bodies, a log flood of malformed transport frames, and a room lock by seat reservations. For each: the good
 * player's NPC voice frames/s and largest gap (end to end through the server, received by the client), the
 * server's RSS growth and its log growth (lines and bytes). The engine is the in-thread echo stand-in.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ScriptedEngine } from '../tests/stand-ins/scripted-engine.ts';
import { inlineNpcs, startTestServer } from '../tests/support/test-server.ts';
import { TestPlayer, sleep, tone, waitFor } from '../tests/support/test-player.ts';
import { hmacVerifier, signToken } from '../server/room/join-guard.ts';

const CLIENTS = fileURLToPath(new URL('./support/abuse-clients.ts', import.meta.url));
const TSX = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));
const SECRET = 'abuse-bench-secret-0123456789';
const SECONDS = 6;
const SCENARIOS = ['baseline', 'hoard', 'flood', 'bodies', 'logs', 'lock'] as const;

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
    const t0 = Date.now();
    const [got] = await Promise.all([attack(srv.url, scenario), sleep(SECONDS * 1000)]);
    const elapsed = (Date.now() - t0) / 1000;
    const frames = good.frames.slice(from).filter((f) => f.npc === 'alex');
    let gap = 0;
    for (let i = 1; i < frames.length; i++) gap = Math.max(gap, frames[i]!.at - frames[i - 1]!.at);
    const rssPeak = process.memoryUsage().rss;
    await sleep(1000);
    const bytes = srv.logs.reduce((n, l) => n + l.length, 0) - bytes0;
    Object.assign(figures, {
      [`abuse_${scenario}_good_frames_per_s`]: frames.length / elapsed,
      [`abuse_${scenario}_good_max_gap_ms`]: gap,
      [`abuse_${scenario}_rss_growth_mb`]: (rssPeak - rss0) / 2 ** 20,
      [`abuse_${scenario}_log_lines`]: srv.logs.length - lines0,
      [`abuse_${scenario}_log_kb`]: bytes / 1024,
      ...(got.joined !== undefined ? { [`abuse_${scenario}_attacker_admitted`]: got.joined } : {}),
    });
    process.stderr.write(`  ${scenario}: ${JSON.stringify(got)} good ${(frames.length / elapsed).toFixed(1)} frames/s, max gap ${gap} ms\n`);
  }
  await good.leave();
  await srv.stop();
  return figures;
}
