/**
 * The real Parley server for the browser end-to-end test, in this process: what `npm start` runs (character
 * sheets, the Mars-mission room and layout, lip-sync timelines, static files) with the CPU rehearsal engine on
 * one worker thread, listening on a free loopback port.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createParleyServer, type ParleyServer } from '../../../server/app.ts';
import type { DuplexEngine } from '../../../server/engines/contract.ts';
import { startRehearsalEngine } from '../../../server/engines/rehearsal/index.ts';
import { sheetDirectory } from '../../../server/room/sheet-directory.ts';
import { SheetLibrary } from '../../../server/sheets/library.ts';
import { loadPronunciations } from '../../../server/visemes/pronounce.ts';
import { VisemeTimeline } from '../../../server/visemes/timeline.ts';
import { capturingLogger } from '../../support/test-server.ts';
import { MARS_MISSION_NPCS, MARS_MISSION_ROOM } from '../../../sample-game/layout.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface MarsServer {
  server: ParleyServer;
  engine: DuplexEngine;
  /** http://127.0.0.1:port */
  url: string;
  logs: string[];
  stop(): Promise<void>;
}

export async function startMarsServer(): Promise<MarsServer> {
  const { log: logger, lines: logs } = capturingLogger();
  const sheets = await SheetLibrary.open({ dir: path.join(ROOT, 'character-sheets'), reload: false, log: logger.child({ part: 'sheets' }) });
  // The step deadline that replaces a hung worker (1 s by default) is raised: on a starved 2-core machine (a
  // software-rendered Chromium beside the server) a healthy worker's step can take over a second, and replacing
  // the only worker leaves Alex warming for the rest of the test. The browser checks are about the page.
  const [engine] = await Promise.all([
    startRehearsalEngine({ workers: 1, stepTimeoutMs: 5000, engine: { quiet: true }, log: logger.child({ engine: 'rehearsal' }) }),
    loadPronunciations(),
  ]);
  const server = createParleyServer({
    engine,
    npcs: sheetDirectory(sheets),
    rooms: { [MARS_MISSION_ROOM]: { npcs: MARS_MISSION_NPCS } },
    visemes: (leadFrames) => new VisemeTimeline({ leadFrames }),
    handleSignals: false,
    log: logger,
  });
  server.onShutdown(() => sheets.close());
  const port = await server.listen(0, '127.0.0.1');
  let stopping: Promise<void> | null = null;
  return { server, engine, url: `http://127.0.0.1:${port}`, logs, stop: () => (stopping ??= server.shutdown()) };
}
