/**
 * The PersonaPlex server engine under the room's real conductor (server/sessions/conductor.ts): an NPC talks on one server, that
 * server dies mid-conversation, the NPC goes to `error` while the tick keeps running, and the conductor's retry
 * reopens it on the other server, where it speaks again.
 */
import { afterEach, expect, it } from 'vitest';
import { createParleyMetrics } from '../../server/metrics/parley-metrics.ts';
import { Conductor, type TickParticipant } from '../../server/sessions/conductor.ts';
import { StandInServer } from '../personaplex-server/stand-in-server.ts';
import { persona, startEngine } from '../personaplex-server/helpers.ts';
import { recordStatuses, testStream } from '../support/npc-stream.ts';
import { sleep } from '../support/time.ts';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!().catch(() => undefined);
});

it('an NPC whose server dies goes to error, the tick keeps going, and it recovers on the other server', async () => {
  const doomed = await StandInServer.start({ fault: { kind: 'die', afterFrames: 20 } });
  const healthy = await StandInServer.start();
  cleanup.push(() => doomed.close(), () => healthy.close());
  const engine = await startEngine([{ url: doomed.url, capacity: 1 }, { url: healthy.url, capacity: 1 }]);

  const texts: string[] = [];
  let outputs = 0;
  const stream = testStream('kess', { persona: persona() });
  const statuses = recordStatuses(stream);
  stream.demand = { inRange: true, nearest: 2 };
  const room: TickParticipant = {
    beginTick: () => undefined,
    streams: () => [stream],
    output: (_s, _i, out) => {
      outputs++;
      if (out.text) texts.push(out.text);
    },
  };
  const metrics = createParleyMetrics();
  const conductor = new Conductor({ engine, metrics, retryMs: 300, maxRetryMs: 600 });
  cleanup.push(() => conductor.shutdown());
  conductor.join(room);

  for (let i = 0; i < 150 && !(statuses.includes('error') && healthy.stats.conversations > 0 && texts.length >= 4); i++) await sleep(80);
  expect(doomed.stats.conversations).toBe(1);
  expect(statuses).toContain('error');
  expect(healthy.stats.conversations).toBe(1);
  const afterError = statuses.slice(statuses.indexOf('error'));
  expect(afterError).toContain('warming');
  expect(afterError.some((s) => s === 'listening' || s === 'speaking')).toBe(true);
  expect(texts.filter((t) => t === '▁Reactor').length).toBeGreaterThanOrEqual(2); // it spoke on both servers
  expect(outputs).toBeGreaterThan(20); // frames kept flowing after the 20 from the server that died
  expect(engine.status()[0]!.state).toBe('down');
}, 20_000);
