/**
 * `npm start`: the Parley game server on PORT (default 2567) with the engine from PARLEY_ENGINE (default: the
 * CPU rehearsal engine), NPCs from character-sheets/, and the sample Mars-mission scene as its room.
 */
import { loadConfig, ConfigError } from './config.ts';
import { startEngine } from './engines/select.ts';
import { createParleyServer } from './app.ts';
import { SheetLibrary } from './sheets/library.ts';
import { sheetDirectory } from './room/sheet-directory.ts';
import { VisemeTimeline } from './visemes/timeline.ts';
import { loadPronunciations } from './visemes/pronounce.ts';
import { MARS_MISSION_NPCS, MARS_MISSION_ROOM } from '../sample-game/layout.ts';

const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);

async function main() {
  const config = loadConfig();
  log(`[server] starting: engine ${config.engine}, sheets ${config.sheetsDir}${config.hotReload ? ' (hot reload)' : ''}`);
  const sheets = await SheetLibrary.open({
    dir: config.sheetsDir,
    tokenizerPath: config.tokenizerPath,
    budgetTokens: config.promptBudget,
    reload: config.hotReload,
    watch: config.hotReload,
    log,
  });
  // compiles every sheet once now, so invalid ones are logged (with file:line:col) at start
  const { sheets: valid } = sheets.checkAll();
  log(`[sheets] ${valid.length} valid character sheet(s)`);
  // the pronouncing dictionary (for lip-sync) loads while the engine starts
  const [engine] = await Promise.all([startEngine(config, log), loadPronunciations()]);
  log(`[server] engine ready: ${engine.label} (capacity ${engine.capacity} sessions)`);
  const server = createParleyServer({
    engine,
    npcs: sheetDirectory(sheets),
    rooms: { [MARS_MISSION_ROOM]: { npcs: MARS_MISSION_NPCS } },
    visemes: (leadFrames) => new VisemeTimeline({ leadFrames }),
    idleTimeoutMs: config.idleTimeoutMs,
    log,
  });
  server.onShutdown(() => sheets.close());
  const port = await server.listen(config.port, config.host);
  log(`[server] Parley is up: open http://localhost:${port}/ (metrics at /metrics)`);
}

main().catch((err) => {
  if (err instanceof ConfigError) {
    console.error(`parley: ${err.message}`);
  } else {
    console.error(`parley: failed to start: ${(err as Error).stack ?? err}`);
  }
  process.exit(1);
});
