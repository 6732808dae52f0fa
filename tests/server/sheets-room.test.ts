/**
 * Character sheets in a running room: an invalid sheet beside valid ones is refused (logged with its file,
 * line and column) while the valid NPCs work; an edited sheet applies to that NPC's next session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ScriptedEngine } from '../stand-ins/scripted-engine.ts';
import { startTestServer, type RunningServer } from '../support/test-server.ts';
import { TestPlayer, waitFor } from '../support/test-player.ts';
import { SheetLibrary } from '../../server/sheets/library.ts';
import { sheetDirectory } from '../../server/room/sheet-directory.ts';
import type { Persona } from '../../server/engines/contract.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'parley-sheets-'));
let srv: RunningServer;
const opened: Persona[] = [];

beforeAll(async () => {
  cpSync(path.resolve('character-sheets'), dir, { recursive: true });
  // a broken sheet: unknown voice and an empty persona field
  const broken = readFileSync(path.join(dir, 'vance.yaml'), 'utf8').replace('id: vance', 'id: broken').replace(/voice: \w+/, 'voice: NATX9');
  writeFileSync(path.join(dir, 'broken.yaml'), broken);
  const library = await SheetLibrary.open({ dir });
  const engine = new ScriptedEngine({ mode: 'script', capacity: 4 });
  const open = engine.open.bind(engine);
  engine.open = (persona, o) => {
    opened.push(persona);
    return open(persona, o);
  };
  srv = await startTestServer(engine, {
    npcs: sheetDirectory(library),
    rooms: {
      ship: {
        npcs: [
          { sheet: 'alex', position: [0, 0, 0] },
          { sheet: 'broken', position: [3, 0, 0] },
          { sheet: 'okafor', position: [40, 0, 0] },
        ],
      },
    },
    idleTimeoutMs: 500,
  });
});

afterAll(async () => {
  await srv?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('sheets in a running room', () => {
  it('refuses the invalid NPC, logs why with a position, and serves the valid ones', async () => {
    const p = await new TestPlayer(srv.url).join('ship');
    await p.hello();
    expect([...p.room.state.npcs.keys()].sort()).toEqual(['alex', 'okafor']);
    const line = srv.logs.find((l) => /NPC 'broken' not placed/.test(l));
    expect(line).toMatch(/broken\.yaml:\d+:\d+/);
    expect(line).toMatch(/NATX9/);
    p.pose([0, 0, 1], [0, 0, -1]);
    await waitFor(() => p.framesFrom('alex').length > 5, 4000, 'alex talks');
    expect(p.room.state.npcs.get('alex')!.name).toBe('Alex');
    expect(opened.at(-1)!.textPrompt).toMatch(/^You are an astronaut on a Mars mission\./);
    p.pose([40, 0, 1], [0, 0, -1]);
    await waitFor(() => p.framesFrom('okafor').length > 5, 4000, 'okafor talks');
    await p.leave();
  });

  it("applies an edited sheet to the NPC's next session without a restart", async () => {
    const p = await new TestPlayer(srv.url).join('ship');
    await p.hello();
    p.pose([0, 0, 1], [0, 0, -1]);
    await waitFor(() => ['listening', 'speaking'].includes(p.room.state.npcs.get('alex')!.status), 4000, 'alex session');
    const file = path.join(dir, 'alex.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('with a dry sense of humour', 'and hum old songs when nervous'));
    p.pose([20, 0, 0], [0, 0, 1]);
    await waitFor(() => p.room.state.npcs.get('alex')!.status === 'idle', 4000, 'alex session closed');
    const before = opened.length;
    p.pose([0, 0, 1], [0, 0, -1]);
    await waitFor(() => opened.length > before, 4000, 'new session');
    expect(opened.at(-1)!.textPrompt).toMatch(/hum old songs when nervous/);
    await p.leave();
  });
});
