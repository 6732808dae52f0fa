import { describe, expect, it, afterEach } from 'vitest';
import { fileURLToPath } from 'node:url';
import { WorkerPoolEngine } from '../../../server/engines/worker/pool.ts';
import type { Persona } from '../../../server/engines/contract.ts';
import { FRAME_SAMPLES } from '../../../protocol/frame.ts';
import { recordingLogger } from '../../support/log.ts';
import { sleep } from '../../support/time.ts';

const MODULE = fileURLToPath(new URL('../../stand-ins/scripted-engine.ts', import.meta.url));
const persona = (id: string): Persona => ({ id, name: id, textPrompt: 'You are a test.', voice: { kind: 'builtin', id: 'NATF0' } });
const silence = () => new Float32Array(FRAME_SAMPLES);

let pool: WorkerPoolEngine | undefined;
afterEach(async () => {
  await pool?.dispose();
  pool = undefined;
});

describe('WorkerPoolEngine', () => {
  it('runs the engine in workers and reports its declared figures', async () => {
    pool = await WorkerPoolEngine.start({ module: MODULE, options: { capacity: 3, mode: 'echo' }, workers: 2 });
    expect(pool.capacity).toBe(6);
    expect(pool.name).toBe('scripted-stand-in');
    const a = await pool.open(persona('a'));
    const b = await pool.open(persona('b'));
    const inA = silence().fill(0.25);
    const inB = silence().fill(-0.5);
    const [oa, ob] = await pool.step([{ session: a, input: inA }, { session: b, input: inB }]);
    expect(oa!.session).toBe(a);
    expect(oa!.output[100]).toBeCloseTo(0.25);
    expect(ob!.output[100]).toBeCloseTo(-0.5);
    expect(inA[0]).toBeCloseTo(0.25); // the caller's buffer is not taken away
    // the scene's floor decision crosses to the worker with its input
    const [fa, fb] = await pool.step([{ session: a, input: inA, floorElsewhere: true }, { session: b, input: inB }]);
    expect([fa!.text, fb!.text]).toEqual(['▁floor-elsewhere', undefined]);
  });

  it('reports open progress', async () => {
    pool = await WorkerPoolEngine.start({ module: MODULE, options: { openSteps: 4 } });
    const seen: number[] = [];
    await pool.open(persona('a'), { onProgress: (p) => seen.push(p.fraction) });
    expect(seen).toEqual([0.25, 0.5, 0.75, 1]);
  });

  it('a failing session errors alone; a hung worker is replaced and only its sessions fail', async () => {
    const { log, lines: logs } = recordingLogger();
    pool = await WorkerPoolEngine.start({
      module: MODULE,
      options: { mode: 'echo', failPersonaId: 'bad', hangPersonaId: 'hang' },
      workers: 2,
      stepTimeoutMs: 300,
      log,
    });
    const good = await pool.open(persona('good')); // worker 0
    const bad = await pool.open(persona('bad')); // worker 1
    const first = await pool.step([{ session: good, input: silence().fill(0.1) }, { session: bad, input: silence() }]);
    expect(first[0]!.error).toBeUndefined();
    expect(first[1]!.error?.message).toMatch(/stand-in fault for bad/);
    await pool.close(bad);
    const hang = await pool.open(persona('hang')); // worker 1 again (least loaded)
    const out = await pool.step([{ session: good, input: silence().fill(0.1) }, { session: hang, input: silence() }]);
    expect(out[0]!.error).toBeUndefined();
    expect(out[0]!.output[0]).toBeCloseTo(0.1);
    // the hung worker delays only its own session (issue 13): the step went on without it, and its session is
    // told the timeout at its next step, once the deadline passed
    await sleep(400);
    const timedOut = await pool.step([{ session: good, input: silence().fill(0.1) }, { session: hang, input: silence() }]);
    expect(timedOut[1]!.error?.message).toMatch(/did not answer step/);
    expect(timedOut[1]!.error?.kind).toBe('timeout');
    expect(logs.join('\n')).toMatch(/worker=1 .*worker replaced/);
    // the replaced worker serves new sessions; the good one carries on
    await sleep(1500);
    const again = await pool.open(persona('fresh'));
    const out2 = await pool.step([{ session: good, input: silence() }, { session: again, input: silence().fill(0.3) }]);
    expect(out2.map((o) => o.error)).toEqual([undefined, undefined]);
    expect(out2[1]!.output[5]).toBeCloseTo(0.3);
  });
});
