/** The drain gate: once closed, new sessions are 'busy' while the sessions under way keep stepping. */
import { describe, expect, it } from 'vitest';
import { DrainGate } from '../../server/cluster/drain.ts';
import { EngineFailure, type Persona } from '../../server/engines/contract.ts';
import { ScriptedEngine } from '../stand-ins/scripted-engine.ts';
import { tone } from '../support/audio.ts';

const persona: Persona = { id: 'alex', name: 'Alex', textPrompt: 'You are Alex.', voice: { kind: 'builtin', id: 'NATF0' } };

describe('DrainGate', () => {
  it("refuses new sessions as 'busy' once closed; open ones still step and close", async () => {
    const engine = new ScriptedEngine({ mode: 'echo', capacity: 4 });
    const gate = new DrainGate();
    const gated = gate.wrap(engine);
    expect(gated.capacity).toBe(4);
    expect(gated.label).toBe(engine.label);
    const id = await gated.open(persona);
    gate.closed = true;
    const err = await gated.open(persona).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineFailure);
    expect((err as EngineFailure).kind).toBe('busy');
    expect((err as Error).message).toMatch(/draining/);
    const [out] = await gated.step([{ session: id, input: tone(1920, 300, 0.2) }]);
    expect(out!.error).toBeUndefined();
    await gated.close(id);
    await gated.dispose();
  });
});
