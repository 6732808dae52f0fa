/**
 * Where new rooms go: each process publishes its free model seats (and whether it is draining) in one Redis
 * hash, and Colyseus's `selectProcessIdToCreateRoom` picks the live process with the most free seats, then the
 * fewest rooms. A room whose NPCs find no seat anywhere still opens (its NPCs show `busy`, as on one process).
 */
import type { Redis } from 'ioredis';
import { silentLogger, type Logger } from '../log.ts';

export interface ProcessLoad {
  processId: string;
  roomCount: number;
}

export interface BoardEntry {
  free: number;
  draining: boolean;
  /** when it was written (ms since epoch); entries older than `staleMs` are from a dead process */
  at: number;
}

const KEY = 'parley:seat-board';

export interface SeatBoardOptions {
  redis: Redis;
  processId: () => string;
  /** this process's free seats now */
  free: () => number | Promise<number>;
  publishMs?: number;
  staleMs?: number;
  log?: Logger;
}

export class SeatBoard {
  draining = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly publishMs: number;
  private readonly staleMs: number;
  private readonly log: Logger;

  constructor(private readonly o: SeatBoardOptions) {
    this.publishMs = o.publishMs ?? 500;
    this.staleMs = o.staleMs ?? 3_000;
    this.log = o.log ?? silentLogger;
  }

  start() {
    if (this.timer) return;
    this.timer = setInterval(() => void this.publish(), this.publishMs);
    this.timer.unref();
    void this.publish();
  }

  async publish(): Promise<void> {
    try {
      const entry: BoardEntry = { free: await this.o.free(), draining: this.draining, at: Date.now() };
      await this.o.redis.hset(KEY, this.o.processId(), JSON.stringify(entry));
    } catch (err) {
      this.log.warn({ err: String(err) }, 'could not publish free seats');
    }
  }

  async read(): Promise<Map<string, BoardEntry>> {
    const raw = await this.o.redis.hgetall(KEY);
    const out = new Map<string, BoardEntry>();
    const now = Date.now();
    for (const [id, json] of Object.entries(raw)) {
      try {
        const e = JSON.parse(json) as BoardEntry;
        if (now - e.at <= this.staleMs) out.set(id, e);
      } catch {
        /* a malformed entry is skipped */
      }
    }
    return out;
  }

  /** The process to create a room on, among `processes` (Colyseus's live ones with their room counts). */
  async choose(processes: ProcessLoad[], self: string): Promise<string> {
    const board = await this.read().catch(() => new Map<string, BoardEntry>());
    return chooseProcess(processes, board, self);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.o.redis.hdel(KEY, this.o.processId()).catch(() => undefined);
  }
}

/**
 * Most free seats first, then fewest rooms. A process missing from the board (not yet published, or dead) or
 * draining is never chosen; if none is left, `self` (unless it is the one draining, then any listed process).
 */
export function chooseProcess(processes: ProcessLoad[], board: Map<string, BoardEntry>, self: string): string {
  const live = processes.filter((p) => board.has(p.processId) && !board.get(p.processId)!.draining);
  live.sort((a, b) => board.get(b.processId)!.free - board.get(a.processId)!.free || a.roomCount - b.roomCount);
  if (live[0]) return live[0].processId;
  if (!board.get(self)?.draining) return self;
  return processes.find((p) => p.processId !== self)?.processId ?? self;
}
