/** A session's prompt phase reports progress to players in the NPC's synced state, thinned so a long prompt is not a flood. */
import { afterAll, describe, expect, it } from 'vitest';
import { ScriptedEngine } from '../stand-ins/scripted-engine.ts';
import { inlineNpcs, startTestServer, type RunningServer } from '../support/test-server.ts';
import { TestPlayer, waitFor } from '../support/test-player.ts';

let srv: RunningServer | undefined;
afterAll(() => srv?.stop());

describe('warming progress', () => {
  it('passes on progress in steps of at least 5 points, ending at 100%', async () => {
    // 100 prompt steps, each reporting progress (1% at a time)
    srv = await startTestServer(new ScriptedEngine({ mode: 'echo', openSteps: 100 }), {
      npcs: inlineNpcs({ alex: {} }),
      rooms: { ship: { npcs: [{ sheet: 'alex', position: [0, 0, 0] }] } },
    });
    const p = await new TestPlayer(srv.url).join('ship');
    await p.hello();
    p.pose([0, 0, 1], [0, 0, -1]);
    await waitFor(() => p.room.state.npcs.get('alex')?.status === 'listening', 8000, 'session open');
    const warming = p.statusesOf('alex').filter((s) => s.status === 'warming').map((s) => s.progress);
    expect(warming.length).toBeGreaterThan(10);
    expect(warming.length).toBeLessThanOrEqual(22);
    expect(warming.at(-1)).toBe(1);
    for (let i = 1; i < warming.length - 1; i++) expect(warming[i]! - warming[i - 1]!).toBeGreaterThanOrEqual(0.05 - 1e-9);
    await p.leave();
  });
});
