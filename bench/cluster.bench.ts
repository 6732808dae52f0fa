/**
 * Cluster figures on this machine (all processes share its cores, so per-process figures are lower bounds for
 * one process per machine): three game-server processes on a local redis-server with the echo stand-in engine.
 * - join latency through the matchmaker (joinOrCreate + WebSocket connect, end to end through the server),
 *   cluster vs one process without Redis, measured in the same run;
 * - players and NPC sessions held per process and for the cluster with every player streaming voice, and the
 *   share of ticks that skipped the engine (late) meanwhile;
 * - what Redis adds: commands per second idle and with every player streaming (voice stays in the room's
 *   process, so the difference is the matchmaker's and seat board's housekeeping, not per frame).
 */
import { startRedis } from '../tests/cluster/support/redis.ts';
import { startNode, type GameNode } from '../tests/cluster/support/nodes.ts';
import { TestPlayer, tone } from '../tests/support/test-player.ts';
import { sleep } from '../tests/support/time.ts';

const PLAYERS_PER_PROCESS = 8;
const JOINS = 20;

function pct(xs: number[], p: number) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** JOINS joins (each then left), after 3 unmeasured ones that warm up both ends. */
async function joinLatencies(urls: string[]): Promise<number[]> {
  const out: number[] = [];
  for (let i = -3; i < JOINS; i++) {
    const p = new TestPlayer(urls[(i + 3) % urls.length]!, 'pcm16');
    const t0 = performance.now();
    await p.join('plaza');
    if (i >= 0) out.push(performance.now() - t0);
    await p.leave();
  }
  return out;
}

async function metric(node: GameNode, name: string): Promise<number> {
  const text = await (await fetch(`${node.http}/metrics`)).text();
  const m = text.match(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm'));
  return m ? Number(m[1]) : NaN;
}

async function commands(client: { info(s: string): Promise<string> }): Promise<number> {
  return Number((await client.info('stats')).match(/total_commands_processed:(\d+)/)![1]);
}

export default async function clusterBench(): Promise<Record<string, number>> {
  const figures: Record<string, number> = {};
  // baseline: one process, no Redis
  const solo = await startNode(undefined, { CAPACITY: '64', MAX_PLAYERS: '8' });
  const soloJoins = await joinLatencies([solo.url]);
  solo.proc.kill('SIGKILL');
  await solo.exited;

  const redis = await startRedis();
  const nodes = await Promise.all([0, 1, 2].map(() => startNode(redis.url, { CAPACITY: '64', MAX_PLAYERS: '8' })));
  const players: TestPlayer[] = [];
  try {
    const clusterJoins = await joinLatencies(nodes.map((n) => n.url)).catch((err: Error) => {
      const why = nodes.map((n) => `:${n.port} exit ${n.proc.exitCode ?? n.proc.signalCode ?? 'running'} ${n.stderr.join('').slice(-400)}`).join('\n');
      throw new Error(`${err.message}\n${why}`);
    });
    figures.cluster_join_ms_p50_solo = pct(soloJoins, 50);
    figures.cluster_join_ms_p95_solo = pct(soloJoins, 95);
    figures.cluster_join_ms_p50 = pct(clusterJoins, 50);
    figures.cluster_join_ms_p95 = pct(clusterJoins, 95);

    await sleep(2000);
    let c0 = await commands(redis.client);
    await sleep(5000);
    figures.cluster_redis_commands_per_s_idle = ((await commands(redis.client)) - c0) / 5;

    // rooms of 8 (MAX_PLAYERS): three rooms, placed one per process by free seats; players join through any process
    for (let i = 0; i < PLAYERS_PER_PROCESS * nodes.length; i++) {
      const p = new TestPlayer(nodes[i % nodes.length]!.url, 'pcm16');
      players.push(p);
      await p.join('plaza');
      await p.hello();
      p.pose([0, 0, 2], [0, 0, -1]);
      p.streamVoice(tone(300, 0.2));
      if (i % 8 === 7) await sleep(1200); // a full room: let the seat board catch up before the next is placed
    }
    await sleep(3000);
    const late0 = await Promise.all(nodes.map((n) => metric(n, 'parley_ticks_late_total')));
    c0 = await commands(redis.client);
    const frames0 = players.map((p) => p.framesFrom('alex').length);
    const t0 = Date.now();
    await sleep(10_000);
    const secs = (Date.now() - t0) / 1000;
    const framesEnd = players.map((p) => p.framesFrom('alex').length);
    const cmds = ((await commands(redis.client)) - c0) / secs;
    const late1 = await Promise.all(nodes.map((n) => metric(n, 'parley_ticks_late_total')));
    const sessions = await Promise.all(nodes.map((n) => metric(n, 'parley_sessions')));
    const playersAt = await Promise.all(nodes.map((n) => metric(n, 'parley_players')));
    figures.cluster_redis_commands_per_s_streaming = cmds;
    // per tick of the whole cluster (12.5 ticks/s per process)
    figures.cluster_redis_commands_per_tick = cmds / (12.5 * nodes.length);
    figures.cluster_players_total = playersAt.reduce((a, b) => a + b, 0);
    figures.cluster_sessions_total = sessions.reduce((a, b) => a + b, 0);
    figures.cluster_players_per_process_min = Math.min(...playersAt);
    figures.cluster_sessions_per_process_max = Math.max(...sessions);
    const late = late1.reduce((a, b, i) => a + (b - late0[i]!), 0);
    figures.cluster_ticks_late_pct = (100 * late) / (12.5 * secs * nodes.length);
    // NPC voice frames each player received in the window (12.5/s when nothing is lost)
    const frames = framesEnd.map((n, i) => n - frames0[i]!);
    figures.cluster_npc_frames_per_player_per_s_min = Math.min(...frames) / secs;
  } finally {
    for (const p of players) await p.leave();
    for (const n of nodes) n.proc.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.exited));
    await redis.stop();
  }
  return figures;
}
