/**
 * SIGTERM drains rather than drops: the process stops taking rooms (it says so on the seat board and locks its
 * rooms, so the matchmaker places new players elsewhere), lets the NPC turns under way finish (bounded), then
 * moves its players with a clear reason — close code 4001 (Colyseus's SERVER_SHUTDOWN) and a message telling the
 * game to re-join the room by name, which lands on another process.
 */
import { matchMaker, type Room } from '@colyseus/core';
import { EngineFailure, type DuplexEngine } from '../engines/contract.ts';
import type { Logger } from '../log.ts';
import type { SeatBoard } from './seat-board.ts';

export const DRAIN_CLOSE_CODE = 4001;
export const DRAIN_REASON = 'server draining: re-join the room by name to continue on another server';

export interface DrainOptions {
  board?: SeatBoard;
  /** NPCs speaking now, on this process */
  speaking: () => number;
  /** the longest the turns under way may take */
  maxMs: number;
  log: Logger;
  pollMs?: number;
}

/** This process's rooms, as the matchmaker lists them. */
export async function localRooms(): Promise<Room[]> {
  const listed = await matchMaker.driver.query({ processId: matchMaker.processId });
  return listed.map((l) => matchMaker.getLocalRoomById(l.roomId)).filter((r): r is Room => r !== undefined);
}

export async function drain(o: DrainOptions): Promise<{ waitedMs: number; moved: number }> {
  const started = Date.now();
  if (o.board) {
    o.board.draining = true;
    await o.board.publish();
  }
  const rooms = await localRooms();
  await Promise.all(rooms.map((r) => r.lock()));
  o.log.info({ rooms: rooms.length, maxMs: o.maxMs }, 'draining: no new rooms or players; letting NPC turns finish');
  const poll = o.pollMs ?? 100;
  while (o.speaking() > 0 && Date.now() - started < o.maxMs) await new Promise((r) => setTimeout(r, poll));
  const waitedMs = Date.now() - started;
  if (o.speaking() > 0) o.log.warn({ waitedMs }, 'drain limit reached with NPCs still speaking');
  let moved = 0;
  for (const room of rooms) {
    for (const client of [...room.clients]) {
      client.leave(DRAIN_CLOSE_CODE, DRAIN_REASON);
      moved++;
    }
  }
  o.log.info({ waitedMs, moved }, 'drained: players moved');
  return { waitedMs, moved };
}

/**
 * Stops new model sessions once a drain starts, while the sessions under way keep stepping: the engine the
 * conductor sees answers `open` with 'busy' (the NPC shows busy, as when no seat is free) and passes everything
 * else through.
 */
export class DrainGate {
  closed = false;

  wrap<E extends DuplexEngine>(engine: E): E {
    return new Proxy(engine, {
      get: (target, prop) => {
        if (prop === 'open') {
          return (...args: Parameters<DuplexEngine['open']>) =>
            this.closed ? Promise.reject(new EngineFailure('busy', 'this game server is draining; no new sessions')) : target.open(...args);
        }
        const v = Reflect.get(target, prop) as unknown; // getters and #private fields see the engine itself
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }
}
