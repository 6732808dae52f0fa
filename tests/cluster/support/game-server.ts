/**
 * One game-server process of a test cluster: the real Parley server in cluster mode (Redis presence, driver and
 * seat board) around the stand-in engine in echo mode (the NPC's voice is what it hears, so a test knows the voice
 * flows without a model). Prints one JSON line `{ ready, port, processId }` on stdout once listening; SIGTERM
 * drains it. Environment: REDIS_URL (unset: one process alone), PORT, CAPACITY (sessions), DRAIN_MS, MAX_PLAYERS.
 */
import { matchMaker } from '@colyseus/core';
import { createParleyServer } from '../../../server/app.ts';
import { connectCluster } from '../../../server/cluster/cluster.ts';
import { createLogger } from '../../../server/log.ts';
import { ScriptedEngine } from '../../stand-ins/scripted-engine.ts';
import { inlineNpcs } from '../../support/test-server.ts';

const port = Number(process.env.PORT);
const log = createLogger({ json: true, level: (process.env.LOG_LEVEL as 'warn') ?? 'warn', destination: process.stderr });
// without REDIS_URL: one process on its own (the bench's baseline)
const cluster = process.env.REDIS_URL
  ? await connectCluster({ redisUrl: process.env.REDIS_URL, publicAddress: `127.0.0.1:${port}` }, { holder: `test-${process.pid}`, log })
  : undefined;
const server = createParleyServer({
  engine: new ScriptedEngine({ mode: 'echo', capacity: Number(process.env.CAPACITY ?? 4) }),
  npcs: inlineNpcs({ alex: { hearingRadius: 6, audibleRadius: 12 } }),
  rooms: { plaza: { npcs: [{ sheet: 'alex', position: [0, 0, 0], facing: [0, 0, 1] }], echoGate: false, maxPlayers: Number(process.env.MAX_PLAYERS ?? 2) } },
  serveStatic: false,
  idleTimeoutMs: 2_000,
  cluster,
  drainMs: Number(process.env.DRAIN_MS ?? 10_000),
  processName: `test-${port}`,
  log,
});
await server.listen(port, '127.0.0.1');
process.stdout.write(JSON.stringify({ ready: true, port, processId: matchMaker.processId }) + '\n');
