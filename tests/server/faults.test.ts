/**
 * Engine faults: a failing session goes to `error` alone and recovers; an engine slower than the tick makes
 * late ticks (counted) without drifting the clock or stalling the room.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { ScriptedEngine } from '../stand-ins/scripted-engine.ts';
import { WorkerPoolEngine } from '../../server/engines/worker/pool.ts';
import { ERROR_DETAIL } from '../../server/sessions/npc-stream.ts';
import { inlineNpcs, startTestServer, type RunningServer } from '../support/test-server.ts';
import { TestPlayer, sleep, tone, waitFor } from '../support/test-player.ts';

const STAND_IN = fileURLToPath(new URL('../stand-ins/scripted-engine.ts', import.meta.url));
let srv: RunningServer | undefined;
const players: TestPlayer[] = [];
afterEach(async () => {
  for (const p of players.splice(0)) await p.leave();
  await srv?.stop();
  srv = undefined;
});

async function metric(url: string, line: RegExp) {
  const text = await (await fetch(url.replace('ws://', 'http://') + '/metrics')).text();
  const m = text.split('\n').find((l) => line.test(l));
  return m ? Number(m.split(' ').pop()) : 0;
}

describe('engine faults', () => {
  it('a failing session goes to error, recovers, and never takes the others down', async () => {
    srv = await startTestServer(new ScriptedEngine({ mode: 'echo', capacity: 4, failFirst: { personaId: 'flaky', steps: 2 } }), {
      npcs: inlineNpcs({ flaky: {}, steady: {} }),
      // no echo gate: the stand-in's "voice" is the players' own voices, which no speaker plays back to them
      rooms: { ship: { npcs: [{ sheet: 'flaky', position: [-1, 0, 0] }, { sheet: 'steady', position: [1, 0, 0] }], echoGate: false } },
      retryMs: 300,
    });
    const p = await new TestPlayer(srv.url).join('ship');
    players.push(p);
    await p.hello();
    p.pose([0, 0, 0], [0, 0, 1]);
    p.streamVoice(tone(300, 0.1));
    const status = (id: string) => p.room.state.npcs.get(id)?.status;
    const errors = () => p.statusesOf('flaky').filter((s) => s.status === 'error');
    await waitFor(() => errors().length > 0, 4000, 'flaky error');
    // players read a generic detail; the worker's failure text is in the server log (asserted below; issue 13)
    expect(errors()[0]).toMatchObject({ detail: ERROR_DETAIL });
    // it comes back on its own once the fault has passed (two failures: retries after 300 then 600 ms)
    await waitFor(() => p.framesFrom('flaky').length >= 5, 5000, 'flaky recovered and talking');
    expect(['listening', 'speaking']).toContain(status('flaky'));
    expect(errors()).toHaveLength(2);
    // the steady NPC's stream had no hole: consecutive frame indices from first to last
    const idx = p.framesFrom('steady').map((f) => f.i);
    expect(idx.length).toBeGreaterThan(15);
    expect(idx).toEqual(Array.from({ length: idx.length }, (_, k) => idx[0]! + k));
    expect(srv.logs.join('\n')).toMatch(/npc=flaky .*error: transient stand-in fault/);
  });

  it('an engine slower than the tick makes late ticks, not a drifting clock or a stalled room', async () => {
    const engine = await WorkerPoolEngine.start({ module: STAND_IN, options: { mode: 'echo', stepDelayMs: 130 }, stepTimeoutMs: 2000 });
    srv = await startTestServer(engine, {
      npcs: inlineNpcs({ alex: {} }),
      rooms: { ship: { npcs: [{ sheet: 'alex', position: [0, 0, 0] }] } },
    });
    const p = await new TestPlayer(srv.url).join('ship');
    players.push(p);
    await p.hello();
    p.pose([0, 0, 1], [0, 0, -1]);
    await waitFor(() => p.framesFrom('alex').length > 0, 4000, 'first frame');
    const ticks0 = await metric(srv.url, /^parley_tick_lateness_seconds_count/);
    const t0 = Date.now();
    await sleep(2000);
    const ticks = (await metric(srv.url, /^parley_tick_lateness_seconds_count/)) - ticks0;
    const elapsed = Date.now() - t0;
    // the clock kept its 80 ms grid (within a couple of ticks of scheduling slack) ...
    expect(ticks).toBeGreaterThanOrEqual(Math.floor(elapsed / 80) - 3);
    // ... the engine could only take every other tick, and the skipped ones were counted
    expect(await metric(srv.url, /^parley_ticks_late_total/)).toBeGreaterThan(5);
    // ... and the room still handles messages at once: a pose is reflected in state promptly
    p.pose([0, 0, 2], [0, 0, -1]);
    await waitFor(() => p.room.state.players.get(p.room.sessionId)?.z === 2, 1000, 'pose applied');
  });
});
