/**
 * Findings 7, 8 and 9. An NPC whose sheet was invalid when the room was made is placed once the sheet is valid.
 * Players read generic error details (the sheet file, parser text and worker failures stay in the server log).
 * Players see other players only within 20 m, never which NPC hears them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScriptedEngine } from '../stand-ins/scripted-engine.ts';
import { inlineNpcs, startTestServer, type RunningServer } from '../support/test-server.ts';
import { TestPlayer, sleep, tone, waitFor } from '../support/test-player.ts';
import { ERROR_DETAIL } from '../../server/sessions/npc-stream.ts';

let srv: RunningServer;
const players: TestPlayer[] = [];
const sheets = { alex: { invalid: 'alex.yaml:3:7: bad indentation of a mapping entry (known sheets: alex, secret-npc)' } as { invalid?: string }, kai: {} };
beforeAll(async () => {
  srv = await startTestServer(new ScriptedEngine({ mode: 'echo', capacity: 4, failPersonaId: 'kai' }), {
    npcs: inlineNpcs(sheets),
    rooms: { bay: { npcs: [{ sheet: 'alex', position: [0, 0, 0] }, { sheet: 'kai', position: [50, 0, 0] }], echoGate: false } },
    retryMs: 10_000,
  });
});
afterAll(async () => {
  for (const p of players) await p.leave();
  await srv?.stop();
});

describe('exposure', () => {
  it('an NPC missing for an invalid sheet is placed once the sheet is valid (finding 7)', async () => {
    const p = await new TestPlayer(srv.url).join('bay');
    players.push(p);
    await sleep(300);
    expect(p.room.state.npcs.get('alex')).toBeUndefined();
    delete sheets.alex.invalid;
    await waitFor(() => p.room.state.npcs.get('alex') !== undefined, 4000, 'alex placed');
    expect(srv.logs.join('\n')).toMatch(/NPC 'alex' placed \(its sheet is valid now\)/);
  });

  it('players read a generic error; the reason is in the server log (finding 8)', async () => {
    const p = players[0]!;
    await p.hello();
    p.pose([50, 0, 1], [0, 0, -1]);
    p.streamVoice(tone(300, 0.1));
    await waitFor(() => p.room.state.npcs.get('kai')?.status === 'error', 4000, 'kai error');
    expect(p.room.state.npcs.get('kai')?.detail).toBe(ERROR_DETAIL);
    const everything = JSON.stringify(p.statuses) + JSON.stringify(p.events) + JSON.stringify(p.refused);
    expect(everything).not.toMatch(/yaml|stand-in|secret-npc|known sheets/i);
    expect(srv.logs.join('\n')).toMatch(/npc=kai .*error:/);
    p.stopVoice();
  });

  it("players see others only within 20 m, and never whom an NPC hears (finding 9)", async () => {
    const a = players[0]!;
    a.pose([0, 0, 2], [0, 0, -1]);
    const b = await new TestPlayer(srv.url).join('bay');
    players.push(b);
    await b.hello();
    b.pose([0, 0, 3], [0, 0, -1]);
    b.streamVoice(tone(400, 0.1));
    await waitFor(() => b.room.state.players.get(b.room.sessionId)?.heardBy === 'alex', 4000, 'b heard by alex');
    await waitFor(() => a.room.state.players.get(b.room.sessionId) !== undefined, 3000, 'a sees b nearby');
    // a sees b's pose but not whom b is heard by
    expect(a.room.state.players.get(b.room.sessionId)?.heardBy ?? '').toBe('');
    b.pose([0, 0, 40], [0, 0, -1]); // walks off: out of a's 20 m radius
    await waitFor(() => a.room.state.players.get(b.room.sessionId) === undefined, 6000, 'b out of sight');
    b.stopVoice();
  });
});
