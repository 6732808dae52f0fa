/**
 * `npm start`: the Parley game server on PORT (default 2567) with the engine from PARLEY_ENGINE (default: the
 * CPU rehearsal engine), NPCs from character-sheets/, and one room per scene in scenes/ (the Mars mission).
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, ConfigError } from './config.ts';
import { startEngine } from './engines/select.ts';
import { createParleyServer } from './app.ts';
import { securityFromEnv } from './guard/security-env.ts';
import { createLogger } from './log.ts';
import { SheetLibrary } from './sheets/library.ts';
import { sheetDirectory } from './room/sheet-directory.ts';
import { loadScenes } from './room/scenes.ts';
import { VisemeTimeline } from './visemes/timeline.ts';
import { loadPronunciations } from './visemes/pronounce.ts';
import type { EngineConfig } from './engines/select.ts';
import type { ClusterLink } from './cluster/cluster.ts';

const SCENES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'scenes');

async function main() {
  const config = loadConfig();
  const log = createLogger();
  log.info({ engine: config.engine.name, sheets: config.sheetsDir, hotReload: config.hotReload }, 'starting');
  const scenes = loadScenes(SCENES_DIR);
  const sheets = await SheetLibrary.open({
    dir: config.sheetsDir,
    tokenizerPath: config.tokenizerPath,
    budgetTokens: config.promptBudget,
    reload: config.hotReload,
    watch: config.hotReload,
    log: log.child({ part: 'sheets' }),
  });
  // compiles every sheet once now, so invalid ones are logged (with file:line:col) at start
  const { sheets: valid } = sheets.checkAll();
  log.info({ valid: valid.length }, 'character sheets checked');
  // cluster mode only with REDIS_URL: Redis is loaded and reached here, never otherwise
  let cluster: ClusterLink | undefined;
  if (config.cluster) {
    const { connectCluster } = await import('./cluster/cluster.ts');
    cluster = await connectCluster(config.cluster, { holder: `${os.hostname()}-${process.pid}`, log: log.child({ part: 'cluster' }) });
    log.info({ publicAddress: config.cluster.publicAddress ?? '(this host)' }, 'cluster mode: Redis presence and driver');
  }
  // shared PersonaPlex servers are leased through Redis in cluster mode: one game-server process per seat
  const engineConfig: EngineConfig =
    cluster && config.engine.name === 'personaplex-server' ? { ...config.engine, config: { ...config.engine.config, leases: cluster.leases } } : config.engine;
  // the pronouncing dictionary (for lip-sync) loads while the engine starts
  const [engine] = await Promise.all([startEngine(engineConfig, log), loadPronunciations()]);
  log.info({ engine: engine.label, capacity: engine.capacity }, 'engine ready');
  const server = createParleyServer({
    engine,
    npcs: sheetDirectory(sheets),
    rooms: Object.fromEntries(Object.values(scenes).map((s) => [s.room, { npcs: s.npcs, playerStart: s.playerStart, echoGate: config.serverEchoGate }])),
    visemes: (leadFrames) => new VisemeTimeline({ leadFrames }),
    idleTimeoutMs: config.idleTimeoutMs,
    log,
    cluster,
    drainMs: config.drainMs,
    echoGateMax: config.serverEchoGateMax,
    ...securityFromEnv(),
  });
  server.onShutdown(() => sheets.close());
  const port = await server.listen(config.port, config.host);
  log.info({ rooms: Object.keys(scenes) }, `Parley is up: open http://localhost:${port}/ (metrics at /metrics)`);
}

main().catch((err) => {
  if (err instanceof ConfigError) {
    console.error(`parley: ${err.message}`);
  } else {
    console.error(`parley: failed to start: ${(err as Error).stack ?? err}`);
  }
  process.exit(1);
});
