/**
 * The conductor's arbitration on a fake clock, in milliseconds: who gets a seat, idle close, retry backoff, a
 * busy engine. The engine is a stand-in for a duplex model whose opens and steps the test controls.
 */
import { describe, expect, it } from 'vitest';
import { FRAME_SAMPLES } from '../../protocol/frame.ts';
import { EngineFailure, type DuplexEngine, type EngineError, type Persona, type SessionId, type StepInput, type StepOutput } from '../../server/engines/contract.ts';
import { createParleyMetrics } from '../../server/metrics/parley-metrics.ts';
import { Conductor, type TickParticipant } from '../../server/sessions/conductor.ts';
import type { NpcStream } from '../../server/sessions/npc-stream.ts';
import { ERROR_DETAIL } from '../../server/sessions/npc-stream.ts';
import { recordStatuses, testStream } from '../support/npc-stream.ts';
import { FakeClock } from '../support/time.ts';

/** Stand-in for a duplex model: echoes its input; a test can make a persona's steps or opens fail with a kind. */
class ControlledEngine implements DuplexEngine {
  readonly name = 'controlled-stand-in';
  readonly label = 'test stand-in (controlled)';
  readonly textLeadFrames = 0;
  open = async (persona: Persona): Promise<SessionId> => {
    const kind = this.openFails.get(persona.id);
    if (kind) throw new EngineFailure(kind, `open refused (${kind})`);
    const id = this.next++;
    this.sessions.set(id, persona.id);
    this.opened.push(persona.id);
    return id;
  };
  sessions = new Map<SessionId, string>();
  opened: string[] = [];
  closed: string[] = [];
  stepFails = new Map<string, EngineError>();
  openFails = new Map<string, EngineError['kind']>();
  steps = 0;
  private next = 1;
  constructor(readonly capacity: number) {}
  async step(batch: StepInput[]): Promise<StepOutput[]> {
    this.steps++;
    return batch.map(({ session, input }) => {
      const error = this.stepFails.get(this.sessions.get(session)!);
      return error ? { session, output: new Float32Array(FRAME_SAMPLES), error } : { session, output: new Float32Array(input) };
    });
  }
  async close(session: SessionId) {
    this.closed.push(this.sessions.get(session)!);
    this.sessions.delete(session);
  }
  async dispose() {}
}

function setup(capacity: number, ids: string[], opts: { idleTimeoutMs?: number; retryMs?: number; maxRetryMs?: number } = {}) {
  const clock = new FakeClock(1000);
  const engine = new ControlledEngine(capacity);
  const streams = ids.map((id) => testStream(id));
  const byId = Object.fromEntries(streams.map((s) => [s.id, s])) as Record<string, NpcStream>;
  const statuses = Object.fromEntries(streams.map((s) => [s.id, recordStatuses(s)])) as Record<string, string[]>;
  const outputs: string[] = [];
  /** who is near each NPC (distance), set by the test; the hearing stage does this in a room */
  const near: Record<string, number> = {};
  const room: TickParticipant = {
    beginTick: () => {
      for (const s of streams) s.demand = near[s.id] !== undefined ? { inRange: true, nearest: near[s.id]! } : { inRange: false, nearest: Infinity };
    },
    streams: () => streams,
    output: (s) => outputs.push(s.id),
  };
  const metrics = createParleyMetrics();
  const conductor = new Conductor({ engine, metrics, time: { now: clock.now, setTimeout: clock.setTimeout, clearTimeout: (h) => clock.clear(h as number) }, ...opts });
  conductor.join(room);
  /** run `ms` of ticks, letting the engine's promises settle after each */
  const run = async (ms: number) => {
    for (let t = 0; t < ms; t += 80) {
      clock.advance(80);
      await new Promise((r) => setImmediate(r));
    }
  };
  const status = (id: string) => byId[id]!.state.status;
  return { clock, engine, streams: byId, statuses, outputs, near, conductor, metrics, run, status, room };
}

describe('conductor arbitration', () => {
  it('opens a session when a player comes near and steps it every tick', async () => {
    const t = setup(2, ['alex']);
    await t.run(400);
    expect(t.status('alex')).toBe('idle');
    expect(t.engine.steps).toBe(0);
    t.near.alex = 2;
    await t.run(800);
    expect(t.statuses.alex).toEqual(['idle', 'warming', 'listening']);
    expect(t.outputs.length).toBeGreaterThanOrEqual(8);
    expect(t.streams.alex!.frameIndex).toBe(t.outputs.length);
  });

  it('past capacity the nearest NPCs are served and the others are busy, with the reason', async () => {
    const t = setup(1, ['alex', 'sam']);
    t.near.alex = 3;
    t.near.sam = 1;
    await t.run(160);
    expect(t.status('sam')).toBe('listening');
    expect(t.status('alex')).toBe('busy');
    expect(t.streams.alex!.state.detail).toBe('engine at capacity (1 sessions)');
    // the player walks away from sam: his seat goes at once to alex, who is waiting
    delete t.near.sam;
    await t.run(240);
    expect(t.engine.closed).toEqual(['sam']);
    expect(t.status('sam')).toBe('idle');
    expect(t.status('alex')).toBe('listening');
  });

  it('closes a session after the idle timeout, not before', async () => {
    const t = setup(2, ['alex'], { idleTimeoutMs: 1000 });
    t.near.alex = 2;
    await t.run(240);
    expect(t.status('alex')).toBe('listening');
    delete t.near.alex;
    await t.run(880);
    expect(t.status('alex')).toBe('listening');
    await t.run(240);
    expect(t.status('alex')).toBe('idle');
    expect(t.engine.closed).toEqual(['alex']);
  });

  it('a failing session goes to error and is retried after a backoff that doubles per failure', async () => {
    const t = setup(2, ['flaky', 'steady'], { retryMs: 400, maxRetryMs: 1000 });
    t.near.flaky = 1;
    t.near.steady = 1;
    t.engine.stepFails.set('flaky', { kind: 'failed', message: 'model fault' });
    await t.run(240);
    expect(t.status('flaky')).toBe('error');
    // the reason stays on the seat and in the log; players read a generic detail (issue 13)
    expect(t.streams.flaky!.seat).toMatchObject({ kind: 'failed', message: 'model fault' });
    expect(t.streams.flaky!.state.detail).toBe(ERROR_DETAIL);
    expect(t.status('steady')).toBe('listening');
    const opens = () => t.engine.opened.filter((id) => id === 'flaky').length;
    expect(opens()).toBe(1);
    // first retry 400 ms after the failure, then 800, then capped at 1000
    const reopenTimes: number[] = [];
    for (let ms = 0; ms < 4000 && reopenTimes.length < 3; ms += 80) {
      const before = opens();
      await t.run(80);
      if (opens() > before) reopenTimes.push(t.clock.now());
    }
    const gaps = reopenTimes.slice(1).map((at, i) => at - reopenTimes[i]!);
    expect(gaps[0]).toBeGreaterThanOrEqual(800);
    expect(gaps[0]).toBeLessThan(800 + 3 * 80);
    expect(gaps[1]).toBeGreaterThanOrEqual(1000);
    expect(gaps[1]).toBeLessThan(1000 + 3 * 80);
    expect(Number(/parley_session_errors_total (\d+)/.exec(await t.metrics.registry.render())?.[1])).toBeGreaterThanOrEqual(3);
    // the fault passes: the next session works and the failure count starts again
    t.engine.stepFails.delete('flaky');
    await t.run(1600);
    expect(t.status('flaky')).toBe('listening');
    expect(t.streams.flaky!.seat).toMatchObject({ kind: 'live', failures: 0 });
    // the steady NPC's stream never had a hole
    const steady = t.outputs.filter((id) => id === 'steady').length;
    expect(t.streams.steady!.frameIndex).toBe(steady);
  });

  it("an engine that says 'busy' puts the NPC back to waiting, not to error", async () => {
    const t = setup(2, ['alex'], { retryMs: 400 });
    t.near.alex = 1;
    t.engine.openFails.set('alex', 'busy');
    await t.run(160);
    expect(t.streams.alex!.seat.kind).toBe('waiting');
    expect(t.status('alex')).toBe('busy');
    expect(t.statuses.alex).not.toContain('error');
    t.engine.openFails.delete('alex');
    await t.run(560);
    expect(t.status('alex')).toBe('listening');
    // and a live session whose step says busy also goes back to waiting
    t.engine.stepFails.set('alex', { kind: 'busy', message: 'server full' });
    await t.run(80);
    expect(t.streams.alex!.seat).toMatchObject({ kind: 'waiting', reason: 'server full', failures: 0 });
    expect(t.engine.closed).toEqual(['alex']);
    expect(t.statuses.alex).not.toContain('error');
  });

  it('an error with nobody near goes back to idle once its retry time has passed', async () => {
    const t = setup(1, ['alex'], { retryMs: 400 });
    t.near.alex = 1;
    t.engine.openFails.set('alex', 'crashed');
    await t.run(80);
    expect(t.status('alex')).toBe('error');
    delete t.near.alex;
    await t.run(240);
    expect(t.status('alex')).toBe('error');
    await t.run(240);
    expect(t.status('alex')).toBe('idle');
  });

  it('a room that leaves has its sessions closed and the clock stops', async () => {
    const t = setup(2, ['alex']);
    t.near.alex = 1;
    await t.run(160);
    await t.conductor.leave(t.room);
    expect(t.engine.closed).toEqual(['alex']);
    expect(t.status('alex')).toBe('idle');
    expect(t.clock.pending).toBe(0);
  });
});

describe('conductor tick phase', () => {
  it('tells the rooms when a tick will not step (the previous step still runs), so they leave its voice frames buffered', async () => {
    const t = setup(2, ['alex']);
    t.near.alex = 2;
    await t.run(400);
    const flags: boolean[] = [];
    const begin = t.room.beginTick;
    t.room.beginTick = (tick, stepping) => {
      flags.push(stepping);
      begin(tick, stepping);
    };
    // one step takes 200 ms: the two ticks that come while it runs do not step
    let release: () => void = () => {};
    const step = t.engine.step.bind(t.engine);
    t.engine.step = async (batch) => {
      t.engine.step = step;
      await new Promise<void>((r) => (release = r));
      return step(batch);
    };
    await t.run(80);
    await t.run(160);
    release();
    await new Promise((r) => setImmediate(r)); // the step's outputs are delivered
    await t.run(160);
    expect(flags).toEqual([true, false, false, true, true]);
    expect(await t.metrics.registry.render()).toMatch(/parley_ticks_late_total 2/);
  });

  it("moves the tick grid onto the players' frames: earlier 2 ms a tick, later up to 8, one batched step per tick", async () => {
    const t = setup(1, ['alex']);
    t.near.alex = 1;
    // a room whose player's frames would still be in time 30 ms earlier
    let wish: number | null = 30;
    const shifts: number[] = [];
    t.room.phaseWishMs = () => wish;
    t.room.phaseShifted = (ms) => {
      shifts.push(ms);
      if (wish !== null) wish -= ms;
    };
    const ticks: number[] = [];
    const begin = t.room.beginTick;
    t.room.beginTick = (tick, stepping) => {
      ticks.push(tick.deadline);
      begin(tick, stepping);
    };
    await t.run(2000);
    expect(shifts.slice(0, 15).every((ms) => ms === 2)).toBe(true);
    expect(wish).toBeCloseTo(0, 6);
    const gaps = ticks.slice(1).map((d, i) => d - ticks[i]!);
    expect(Math.min(...gaps)).toBe(78); // never more than 2 ms earlier per tick
    expect(ticks.at(-1)! - ticks[0]!).toBe((ticks.length - 1) * 80 - 30);
    expect(t.engine.steps).toBe(ticks.length - 2); // one step per tick (the first ones open the session)
    // a frame came late: the grid moves later, fast
    wish = -20;
    shifts.length = 0;
    await t.run(400);
    expect(shifts.slice(0, 3)).toEqual([-8, -8, -4]);
  });
});

describe('conductor tick phase, bounded', () => {
  it('follows a player whose frames keep arriving later by at most one period in all, so no client drags the server', async () => {
    const t = setup(1, ['alex']);
    t.near.alex = 1;
    const shifts: number[] = [];
    t.room.phaseWishMs = () => -50; // always late: a client whose clock runs slow
    t.room.phaseShifted = (ms) => shifts.push(ms);
    await t.run(4000);
    expect(shifts.reduce((a, b) => a + b, 0)).toBe(-80);
  });
});

describe('conductor early tick', () => {
  it("runs the tick on the last frame it waits for, at most 20 ms before its deadline, still one step per tick", async () => {
    const t = setup(1, ['alex']);
    t.near.alex = 1;
    await t.run(400); // the session opens and steps on the grid
    let ready = false;
    t.room.readyForTick = () => ready;
    const ticks: { deadline: number; lateMs: number }[] = [];
    const begin = t.room.beginTick;
    t.room.beginTick = (tick, stepping) => {
      ticks.push({ deadline: tick.deadline, lateMs: tick.lateMs });
      begin(tick, stepping);
    };
    const steps = t.engine.steps;
    expect(t.clock.now()).toBe(1400); // the grid started at 1000: the tick at 1400 has run
    const next = 1480;
    // a frame comes 30 ms before the deadline: too early to run the tick; one 15 ms before, with the room ready: now
    t.clock.advance(next - 30 - t.clock.now());
    ready = true;
    t.conductor.frameArrived();
    expect(ticks).toHaveLength(0);
    t.clock.advance(15);
    ready = false;
    t.conductor.frameArrived(); // a room still waits for a frame: not yet
    expect(ticks).toHaveLength(0);
    ready = true;
    t.conductor.frameArrived();
    expect(ticks).toEqual([{ deadline: next, lateMs: -15 }]);
    await new Promise((r) => setImmediate(r));
    expect(t.engine.steps).toBe(steps + 1);
    t.conductor.frameArrived(); // the next deadline is 95 ms away: nothing
    t.clock.advance(95);
    await new Promise((r) => setImmediate(r));
    expect(ticks.map((k) => k.deadline)).toEqual([next, next + 80]);
    expect(t.engine.steps).toBe(steps + 2);
  });
});
