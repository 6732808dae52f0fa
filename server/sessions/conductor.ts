/**
 * The conductor: one per server, because the model is. It owns the engine and the 12.5 Hz clock, decides which
 * NPCs get a session (nearest players first, within the engine's capacity), and each tick steps every open
 * session of every room in one batched engine call. The step runs off the event loop (engine workers); while it
 * runs, the room keeps handling messages. A step that overruns its tick makes the next tick skip the engine (a
 * late tick, counted), never drift the clock. A session that fails goes to `error` alone and is reopened after a
 * backoff while someone is still near.
 */
import { FRAME_MS } from '../../protocol/frame.ts';
import type { NpcEvent } from '../../protocol/messages.ts';
import type { DuplexEngine, StepInput } from '../engines/contract.ts';
import type { ParleyMetrics } from '../metrics/parley-metrics.ts';
import type { NpcSlot } from './npc-slot.ts';
import { SpeechTracker } from './speech-tracker.ts';
import { TickClock, type TickInfo } from './tick-clock.ts';

export interface TickParticipant {
  /** pull this tick's player frames and mix each NPC's input; update each slot's demand */
  beginTick(tick: TickInfo): void;
  slots(): Iterable<NpcSlot>;
  /** after outputs were delivered: flush batched sends */
  endTick?(tick: TickInfo): void;
}

export interface ConductorOptions {
  engine: DuplexEngine;
  metrics: ParleyMetrics;
  /** close a session when nobody has been in range this long (ms) */
  idleTimeoutMs?: number;
  /** first retry delay after a failure; doubles per failure up to maxRetryMs */
  retryMs?: number;
  maxRetryMs?: number;
  log?: (line: string) => void;
  now?: () => number;
  observeTick?: (lateMs: number, durationMs: number | null) => void;
}

export class Conductor {
  readonly engine: DuplexEngine;
  private participants = new Set<TickParticipant>();
  private clock: TickClock;
  private inFlight = false;
  private trackers = new Map<NpcSlot, SpeechTracker>();
  private readonly idleTimeoutMs: number;
  private readonly retryMs: number;
  private readonly maxRetryMs: number;
  private readonly log: (line: string) => void;
  private readonly now: () => number;
  private stepping: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly opts: ConductorOptions) {
    this.engine = opts.engine;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 20_000;
    this.retryMs = opts.retryMs ?? 2_000;
    this.maxRetryMs = opts.maxRetryMs ?? 30_000;
    this.log = opts.log ?? ((l) => console.log(l));
    this.now = opts.now ?? (() => Date.now());
    this.clock = new TickClock(FRAME_MS, (t) => this.tick(t));
    opts.metrics.capacity.set(this.engine.capacity);
  }

  join(p: TickParticipant) {
    this.participants.add(p);
    if (!this.clock.running && !this.closed) this.clock.start();
  }

  async leave(p: TickParticipant) {
    this.participants.delete(p);
    await this.stepping;
    for (const slot of p.slots()) await this.closeSession(slot, 'idle');
    if (this.participants.size === 0) this.clock.stop();
  }

  private allSlots(): NpcSlot[] {
    const out: NpcSlot[] = [];
    for (const p of this.participants) for (const s of p.slots()) out.push(s);
    return out;
  }

  private tick(tick: TickInfo) {
    const m = this.opts.metrics;
    m.tickLateness.observe(Math.max(0, tick.lateMs) / 1000);
    const started = performance.now();
    for (const p of this.participants) {
      try {
        p.beginTick(tick);
      } catch (err) {
        this.log(`[tick] a room failed to prepare tick ${tick.index}: ${(err as Error).stack ?? err}`);
      }
    }
    const slots = this.allSlots();
    this.arbitrate(slots);
    const lateMs = Math.max(0, tick.lateMs);
    if (this.inFlight) {
      m.ticksLate.inc();
      this.opts.observeTick?.(lateMs, null);
      return;
    }
    const live = slots.filter((s) => s.session !== null && !s.opening);
    if (live.length === 0) {
      for (const p of this.participants) p.endTick?.(tick);
      this.opts.observeTick?.(lateMs, null);
      return;
    }
    this.inFlight = true;
    // Copies: the mixers reuse their buffers next tick, possibly while this step still runs.
    const batch: StepInput[] = live.map((s) => ({ session: s.session!, input: s.input.slice() }));
    this.stepping = this.engine
      .step(batch)
      .then((outputs) => {
        live.forEach((slot, i) => this.deliver(slot, outputs[i], batch[i]!.input));
      })
      .catch((err) => {
        // The whole step failed: every session in it is suspect.
        for (const slot of live) void this.fail(slot, `engine step failed: ${(err as Error).message}`);
      })
      .finally(() => {
        this.inFlight = false;
        for (const p of this.participants) p.endTick?.(tick);
        const duration = performance.now() - started;
        m.tickDuration.observe(duration / 1000);
        this.opts.observeTick?.(lateMs, duration);
      });
  }

  private deliver(slot: NpcSlot, out: ReturnType<DuplexEngine['step']> extends Promise<(infer O)[]> ? O | undefined : never, input: Float32Array) {
    if (slot.session === null) return; // closed while the step ran
    if (!out || out.error) {
      void this.fail(slot, out?.error ?? 'engine returned no output');
      return;
    }
    let tracker = this.trackers.get(slot);
    if (!tracker) this.trackers.set(slot, (tracker = new SpeechTracker()));
    const events: NpcEvent[] = tracker.update(slot.frameIndex, out.output, out.text, input, out.events?.includes('interrupted') ?? false);
    slot.failures = 0;
    slot.setStatus(tracker.speaking ? 'speaking' : 'listening');
    try {
      slot.owner.output(slot, slot.frameIndex, out, events);
    } catch (err) {
      this.log(`[tick] voice out failed for ${slot.key}: ${(err as Error).stack ?? err}`);
    }
    slot.frameIndex++;
  }

  /** Who gets a session: keep the ones in use, close idle ones, open for the nearest waiting NPCs. */
  private arbitrate(slots: NpcSlot[]) {
    const now = this.now();
    for (const s of slots) if (s.demand.inRange) s.lastInRangeAt = now;
    const waiting = slots.filter((s) => s.demand.inRange && s.session === null && !s.opening);
    for (const s of slots) {
      if (s.session !== null && !s.opening && !s.demand.inRange) {
        const idleFor = now - s.lastInRangeAt;
        // Free a seat at once when someone else is waiting for it; otherwise after the idle timeout.
        if (idleFor >= this.idleTimeoutMs || (waiting.length > 0 && this.used(slots) >= this.engine.capacity)) {
          void this.closeSession(s, 'idle');
        }
      }
      if (s.session === null && !s.opening && !s.demand.inRange && (s.status === 'busy' || (s.status === 'error' && now >= s.retryAt))) {
        s.setStatus('idle');
      }
    }
    waiting.sort((a, b) => a.demand.nearest - b.demand.nearest);
    let free = this.engine.capacity - this.used(slots);
    for (const s of waiting) {
      if (s.status === 'error' && now < s.retryAt) continue;
      if (free > 0) {
        free--;
        void this.openSession(s);
      } else if (s.status !== 'busy') {
        s.setStatus('busy', { message: `engine at capacity (${this.engine.capacity} sessions)` });
      }
    }
    this.opts.metrics.sessions.set(this.used(slots));
    const byStatus: Record<string, number> = { idle: 0, warming: 0, listening: 0, speaking: 0, busy: 0, error: 0 };
    for (const s of slots) byStatus[s.status]++;
    for (const [status, n] of Object.entries(byStatus)) this.opts.metrics.npcs.set(n, { status });
  }

  private used(slots: NpcSlot[]) {
    let n = 0;
    for (const s of slots) if (s.session !== null || s.opening) n++;
    return n;
  }

  private async openSession(slot: NpcSlot) {
    slot.opening = true;
    slot.setStatus('warming', { progress: 0 });
    try {
      const persona = slot.owner.persona(slot);
      const id = await this.engine.open(persona, {
        onProgress: (p) => slot.status === 'warming' && slot.owner.status(slot, 'warming', { progress: p.fraction }),
      });
      if (this.closed || !this.allSlots().includes(slot)) {
        // the server is stopping or the room went away while the session warmed up
        slot.opening = false;
        await this.engine.close(id);
        return;
      }
      slot.session = id;
      slot.opening = false;
      this.trackers.set(slot, new SpeechTracker());
      slot.setStatus('listening');
      this.log(`[session] ${slot.key} opened (${persona.voice.kind === 'builtin' ? persona.voice.id : 'custom voice'})`);
    } catch (err) {
      slot.opening = false;
      this.markFailed(slot, `could not start: ${(err as Error).message}`);
    }
  }

  private markFailed(slot: NpcSlot, message: string) {
    slot.failures++;
    slot.lastError = message;
    slot.retryAt = this.now() + Math.min(this.maxRetryMs, this.retryMs * 2 ** (slot.failures - 1));
    this.opts.metrics.sessionErrors.inc();
    this.log(`[session] ${slot.key} error: ${message} (retry in ${Math.round((slot.retryAt - this.now()) / 1000)} s)`);
    slot.setStatus('error', { message });
  }

  private async fail(slot: NpcSlot, message: string) {
    const id = slot.session;
    slot.session = null;
    this.trackers.delete(slot);
    this.markFailed(slot, message);
    if (id !== null) await this.engine.close(id).catch(() => undefined);
  }

  private async closeSession(slot: NpcSlot, next: 'idle') {
    const id = slot.session;
    if (id === null) return;
    slot.session = null;
    this.trackers.delete(slot);
    slot.setStatus(next);
    this.log(`[session] ${slot.key} closed`);
    await this.engine.close(id).catch((err) => this.log(`[session] close ${slot.key}: ${(err as Error).message}`));
  }

  async shutdown() {
    this.closed = true;
    this.clock.stop();
    await this.stepping;
    for (const s of this.allSlots()) await this.closeSession(s, 'idle');
    await this.engine.dispose();
  }
}
