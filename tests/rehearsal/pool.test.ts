/**
 * The rehearsal engine as the server runs it: in worker threads behind WorkerPoolEngine, TTS in its own thread,
 * stepped in real time (one batched step every 80 ms).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { FRAME_SAMPLES } from '../../protocol/frame.ts';
import type { Persona, StepOutput } from '../../server/engines/contract.ts';
import type { WorkerPoolEngine } from '../../server/engines/worker/pool.ts';
import { DEFAULT_CAPACITY_PER_WORKER, rehearsalWorkerCount, startRehearsalEngine } from '../../server/engines/rehearsal/index.ts';
import { framesOf, playerSpeech } from './audio-tools.ts';
import { CAPTAIN } from './scenario.ts';
import { sleep } from '../support/time.ts';

let pool: WorkerPoolEngine | undefined;
afterAll(async () => {
  await pool?.dispose();
});

const npc = (id: string, voice: Persona['voice'], greeting: string): Persona => ({
  ...CAPTAIN,
  id,
  voice,
  rehearsal: { ...CAPTAIN.rehearsal!, greeting },
});

describe('rehearsal engine in worker threads', () => {
  it('greets, answers and isolates bad input, stepped in real time through WorkerPoolEngine', async () => {
    pool = await startRehearsalEngine({ workers: 2, engine: { quiet: true } });
    expect(pool.name).toBe('rehearsal');
    expect(pool.textLeadFrames).toBe(0);
    expect(pool.workerCount).toBe(rehearsalWorkerCount(2));
    expect(pool.capacity).toBe(DEFAULT_CAPACITY_PER_WORKER * pool.workerCount);

    const personas = [
      npc('a', { kind: 'builtin', id: 'NATM1' }, 'Good morning, engineer.'),
      npc('b', { kind: 'builtin', id: 'VARF3' }, 'Hello, welcome to the lab.'),
      npc('c', { kind: 'wav', path: 'voices/custom.wav' }, 'Hi there, nice to meet you.'),
    ];
    const ids = await Promise.all(personas.map((p) => pool!.open(p)));
    const speech = await playerSpeech(['Hello, what is your job here?'], {});
    const talk = framesOf(speech.samples);
    const outs: StepOutput[][] = ids.map(() => []);
    // 13 s: 4.8 s quiet (greetings), then the player speaks to NPC 'a' only, then quiet while it answers.
    const frames = 165;
    const t0 = performance.now();
    for (let k = 0; k < frames; k++) {
      const inputA = k >= 60 && k - 60 < talk.length ? talk[k - 60]! : new Float32Array(FRAME_SAMPLES);
      const out = await pool.step(ids.map((session, i) => ({ session, input: i === 0 ? inputA : new Float32Array(FRAME_SAMPLES) })));
      out.forEach((o, i) => outs[i]!.push(o));
      const due = t0 + (k + 1) * 80;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
    }
    const caption = (o: StepOutput[], from = 0, to = Infinity) =>
      o.slice(from, to).map((x) => x.text?.replace('▁', ' ') ?? '').join('').trim();
    personas.forEach((p, i) => {
      expect(outs[i]!.every((o) => !o.error)).toBe(true);
      expect(caption(outs[i]!, 0, 60)).toBe(p.rehearsal!.greeting);
    });
    // Only the NPC that was spoken to answers.
    expect(CAPTAIN.rehearsal!.lines).toContain(caption(outs[0]!, 60));
    expect(caption(outs[1]!, 60)).toBe('');
    expect(caption(outs[2]!, 60)).toBe('');

    const bad = await pool.step([
      { session: ids[0]!, input: new Float32Array(FRAME_SAMPLES) },
      { session: ids[1]!, input: new Float32Array(7) },
    ]);
    expect(bad[0]!.error).toBeUndefined();
    expect(bad[1]!.error?.message).toMatch(/1920 samples/);
    await Promise.all(ids.map((id) => pool!.close(id)));
  }, 60_000);
});
