/**
 * The conductor: one per server, because the model is. It owns the engine and the 12.5 Hz clock, decides which
 * NPC streams get a session (nearest players first, within the engine's capacity), and each tick steps every
 * live session of every room in one batched engine call. The step runs off the event loop (engine workers);
 * while it runs, the rooms keep handling messages. A step that overruns its tick makes the next tick skip the
 * engine (a late tick, counted), never drift the clock. A session that fails goes to `failed` alone and is
 * reopened after a backoff while someone is still near; an engine that says it is busy is not a failure.
 * Time comes from outside (`time`), so all of this is tested on a fake clock.
 */
import { FRAME_MS } from '../../protocol/frame.ts';
import type { NpcEvent } from '../../protocol/messages.ts';
import { toEngineError, type DuplexEngine, type EngineError, type StepInput, type StepOutput } from '../engines/contract.ts';
import { silentLogger, type Logger } from '../log.ts';
import type { ParleyMetrics } from '../metrics/parley-metrics.ts';
import type { NpcStream } from './npc-stream.ts';
import { TickClock, type TickInfo } from './tick-clock.ts';

export interface TickParticipant {
  /**
   * Pull this tick's player frames, mix each stream's input and set its demand. `stepping` is false when the
   * previous step still runs, so this tick's step is skipped: leave the voice frames buffered then (the uplink
   * buffer catches up in the player's next silence), or the engine never hears them.
   */
  beginTick(tick: TickInfo, stepping: boolean): void;
  streams(): Iterable<NpcStream>;
  /** one output frame of a stream's session, with the speech events it made (voice out) */
  output(stream: NpcStream, frameIndex: number, out: StepOutput, events: NpcEvent[]): void;
  /** how much earlier (ms; negative: later) the tick could fire with this room's player frames still in time */
  phaseWishMs?(): number | null;
  /** the tick grid moved this much earlier */
  phaseShifted?(ms: number): void;
  /** whether every player frame this room's next tick would take is already in (absent: nothing to wait for) */
  readyForTick?(): boolean;
}

/** The most the grid moves per tick, ms: earlier slowly (a frame could arrive later than seen so far), later fast. */
const PHASE_EARLIER_PER_TICK = 2;
const PHASE_LATER_PER_TICK = 8;

/**
 * How long before its deadline a tick may run once every frame it waits for is in. The grid sits a safety margin
 * after the players' usual arrivals (followPhase); firing on the last arrival takes that margin, and the arrival
 * spread under it, out of every frame's wait. It bounds how much uplink jitter reaches the downlink's timing.
 */
const EARLY_FIRE_MS = 20;

/** The clock and timers the conductor runs on: real ones in the server, a FakeClock in tests. */
export interface TimeSource {
  /** milliseconds, monotonic */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTime: TimeSource = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface ConductorOptions {
  engine: DuplexEngine;
  metrics: ParleyMetrics;
  /** close a session when nobody has been in range this long (ms) */
  idleTimeoutMs?: number;
  /** first retry delay after a failure (and the wait after an engine says it is busy); doubles per failure up to maxRetryMs */
  retryMs?: number;
  maxRetryMs?: number;
  log?: Logger;
  time?: TimeSource;
  observeTick?: (lateMs: number, durationMs: number | null) => void;
}

export class Conductor {
  readonly engine: DuplexEngine;
  private participants = new Set<TickParticipant>();
  private owners = new Map<NpcStream, TickParticipant>();
  private clock: TickClock;
  private inFlight = false;
  private readonly idleTimeoutMs: number;
  private readonly retryMs: number;
  private readonly maxRetryMs: number;
  private readonly log: Logger;
  private readonly time: TimeSource;
  private stepping: Promise<void> = Promise.resolve();
  /** how far (ms, earlier) the tick grid has moved to follow the players' frames, within ±one period */
  private phaseMs = 0;
  private closed = false;

  constructor(private readonly opts: ConductorOptions) {
    this.engine = opts.engine;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 20_000;
    this.retryMs = opts.retryMs ?? 2_000;
    this.maxRetryMs = opts.maxRetryMs ?? 30_000;
    this.log = opts.log ?? silentLogger;
    this.time = opts.time ?? realTime;
    const time = this.time;
    this.clock = new TickClock(FRAME_MS, (t) => this.tick(t), () => time.now(), { set: (fn, ms) => time.setTimeout(fn, ms), clear: (h) => time.clearTimeout(h) });
    opts.metrics.capacity.set(this.engine.capacity);
  }

  join(p: TickParticipant) {
    this.participants.add(p);
    if (!this.clock.running && !this.closed) this.clock.start();
  }

  async leave(p: TickParticipant) {
    this.participants.delete(p);
    await this.stepping;
    for (const s of p.streams()) await this.closeSession(s);
    if (this.participants.size === 0) this.clock.stop();
  }

  /**
   * A player's voice frame arrived. If the next tick is due within EARLY_FIRE_MS, the previous step is done and
   * every room has the frames that tick would take, run it now: one batched step per tick still, on the same grid.
   */
  frameArrived() {
    if (this.inFlight || this.closed || this.clock.msToNext() > EARLY_FIRE_MS) return;
    for (const p of this.participants) if (p.readyForTick && !p.readyForTick()) return;
    this.clock.fireNow();
  }

  /** Every stream of every room, and (refreshed with it) which room each belongs to. */
  private allStreams(): NpcStream[] {
    const out: NpcStream[] = [];
    this.owners.clear();
    for (const p of this.participants) {
      for (const s of p.streams()) {
        out.push(s);
        this.owners.set(s, p);
      }
    }
    return out;
  }

  /** The room a stream belongs to now; undefined once its room left. */
  private owner(stream: NpcStream): TickParticipant | undefined {
    const p = this.owners.get(stream);
    return p && this.participants.has(p) ? p : undefined;
  }

  private tick(tick: TickInfo) {
    const m = this.opts.metrics;
    m.tickLateness.observe(Math.max(0, tick.lateMs) / 1000);
    const started = this.time.now();
    const stepping = !this.inFlight;
    for (const p of this.participants) {
      try {
        p.beginTick(tick, stepping);
      } catch (err) {
        this.log.error({ err, tick: tick.index }, 'a room failed to prepare its tick');
      }
    }
    this.followPhase();
    const streams = this.allStreams();
    this.arbitrate(streams);
    const lateMs = Math.max(0, tick.lateMs);
    if (!stepping) {
      m.ticksLate.inc();
      this.opts.observeTick?.(lateMs, null);
      return;
    }
    const live = streams.filter((s) => s.seat.kind === 'live');
    if (live.length === 0) {
      this.opts.observeTick?.(lateMs, null);
      return;
    }
    this.inFlight = true;
    // Copies: the mixers reuse their buffers next tick, possibly while this step still runs.
    const batch: StepInput[] = live.map((s) => ({ session: (s.seat as { session: number }).session, input: s.input.slice(), ...(s.floorElsewhere ? { floorElsewhere: true } : {}) }));
    this.stepping = this.engine
      .step(batch)
      .then((outputs) => {
        live.forEach((s, i) => this.deliver(s, batch[i]!.session, outputs[i], batch[i]!.input));
      })
      .catch((err) => {
        // The whole step failed: every session in it is suspect.
        const e = toEngineError(err);
        for (let i = 0; i < live.length; i++) this.fault(live[i]!, batch[i]!.session, { kind: e.kind, message: `engine step failed: ${e.message}` });
      })
      .finally(() => {
        this.inFlight = false;
        const duration = this.time.now() - started;
        m.tickDuration.observe(duration / 1000);
        this.opts.observeTick?.(lateMs, duration);
      });
  }

  /**
   * Put the tick just after the players' frames arrive (their rooms say by how much it could move), a little per
   * tick. One grid for every room: a player whose frames arrive out of step with the others keeps waiting.
   */
  private followPhase() {
    let wish: number | null = null;
    for (const p of this.participants) {
      const w = p.phaseWishMs?.() ?? null;
      if (w !== null && Number.isFinite(w) && (wish === null || w < wish)) wish = w;
    }
    if (wish === null) return;
    // Within one period of the grid it started on: a player whose clock drifts must not drag the server's rate.
    const ms = Math.max(-PHASE_LATER_PER_TICK, -FRAME_MS - this.phaseMs, Math.min(PHASE_EARLIER_PER_TICK, FRAME_MS - this.phaseMs, wish));
    if (Math.abs(ms) < 0.25) return;
    this.phaseMs += ms;
    this.clock.shift(ms);
    for (const p of this.participants) p.phaseShifted?.(ms);
  }

  private deliver(stream: NpcStream, session: number, out: StepOutput | undefined, input: Float32Array) {
    const seat = stream.seat;
    if (seat.kind !== 'live' || seat.session !== session) return; // closed while the step ran
    if (!out || out.error) {
      this.fault(stream, session, out?.error ?? { kind: 'failed', message: 'engine returned no output' });
      return;
    }
    const events = stream.heard(out, input);
    try {
      this.owner(stream)?.output(stream, stream.frameIndex, out, events);
    } catch (err) {
      stream.log.error({ err }, 'voice out failed');
    }
    stream.frameIndex++;
  }

  /** Who gets a session: keep the ones in use, close idle ones, open for the nearest waiting streams. */
  private arbitrate(streams: NpcStream[]) {
    const now = this.time.now();
    for (const s of streams) if (s.demand.inRange) s.lastInRangeAt = now;
    const wanting = streams.filter((s) => s.demand.inRange && (s.seat.kind === 'idle' || s.seat.kind === 'waiting' || s.seat.kind === 'failed'));
    // a voiced NPC waiting at full capacity takes the seat of one that only has players standing near
    let voicedWaiting = wanting.filter((s) => s.demand.voiced && (s.seat.kind !== 'waiting' || now >= s.seat.notBefore)).length;
    for (const s of streams) {
      const seat = s.seat;
      if (seat.kind === 'live' && !s.demand.inRange) {
        // Free a seat at once when someone else is waiting for it; otherwise after the idle timeout.
        if (now - s.lastInRangeAt >= this.idleTimeoutMs || (wanting.length > 0 && this.used(streams) >= this.engine.capacity)) {
          void this.closeSession(s);
        }
      } else if (seat.kind === 'live' && !s.demand.voiced && voicedWaiting > 0 && this.used(streams) >= this.engine.capacity) {
        voicedWaiting--;
        s.log.info('session given to an NPC whose player is talking');
        void this.closeSession(s);
      } else if (!s.demand.inRange && (seat.kind === 'waiting' || (seat.kind === 'failed' && now >= seat.retryAt))) {
        s.release();
      }
    }
    wanting.sort((a, b) => Number(b.demand.voiced ?? false) - Number(a.demand.voiced ?? false) || a.demand.nearest - b.demand.nearest);
    let free = this.engine.capacity - this.used(streams);
    for (const s of wanting) {
      const seat = s.seat;
      if (seat.kind === 'failed' && now < seat.retryAt) continue;
      if (seat.kind === 'waiting' && now < seat.notBefore) continue;
      if (free > 0) {
        free--;
        void this.openSession(s);
      } else if (seat.kind !== 'waiting') {
        s.wait(`engine at capacity (${this.engine.capacity} sessions)`);
      }
    }
    this.opts.metrics.sessions.set(this.used(streams));
    const byStatus: Record<string, number> = { idle: 0, warming: 0, listening: 0, speaking: 0, busy: 0, error: 0 };
    for (const s of streams) byStatus[s.state.status]++;
    for (const [status, n] of Object.entries(byStatus)) this.opts.metrics.npcs.set(n, { status });
  }

  private used(streams: NpcStream[]) {
    let n = 0;
    for (const s of streams) if (s.seat.kind === 'live' || s.seat.kind === 'opening') n++;
    return n;
  }

  private async openSession(stream: NpcStream) {
    stream.open();
    let persona;
    try {
      persona = stream.persona();
      const id = await this.engine.open(persona, { onProgress: (p) => stream.progress(p.fraction) });
      if (this.closed || stream.seat.kind !== 'opening' || !this.owner(stream)) {
        // the server is stopping or the room went away while the session warmed up
        await this.engine.close(id);
        return;
      }
      stream.opened(id);
      stream.log.info({ voice: persona.voice.kind === 'builtin' ? persona.voice.id : 'custom voice' }, 'session opened');
    } catch (err) {
      if (stream.seat.kind !== 'opening') return;
      const e = toEngineError(err);
      this.fault(stream, null, { kind: e.kind, message: `could not start: ${e.message}` });
    }
  }

  /** A session (live or opening) went wrong: a busy engine puts the stream back in the queue, anything else fails it. */
  private fault(stream: NpcStream, session: number | null, error: EngineError) {
    const seat = stream.seat;
    if (seat.kind !== 'opening' && !(seat.kind === 'live' && seat.session === session)) return;
    const now = this.time.now();
    let closing: number | null;
    if (error.kind === 'busy') {
      closing = stream.requeue(error.message, now + this.retryMs);
      stream.log.info({ reason: error.message }, 'engine busy; waiting for a seat');
    } else {
      const delay = Math.min(this.maxRetryMs, this.retryMs * 2 ** seat.failures);
      closing = stream.fail(error.message, now + delay);
      this.opts.metrics.sessionErrors.inc();
      stream.log.warn({ kind: error.kind, retryInS: Math.round(delay / 1000) }, `error: ${error.message}`);
    }
    if (closing !== null) void this.engine.close(closing).catch(() => undefined);
  }

  private async closeSession(stream: NpcStream) {
    if (stream.seat.kind !== 'live') return;
    const id = stream.close();
    stream.log.info('session closed');
    await this.engine.close(id).catch((err) => stream.log.warn({ err }, 'engine close failed'));
  }

  async shutdown() {
    this.closed = true;
    this.clock.stop();
    await this.stepping;
    for (const s of this.allStreams()) await this.closeSession(s);
    await this.engine.dispose();
  }
}
