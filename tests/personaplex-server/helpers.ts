import type { DuplexEngine, Persona, SessionId, StepOutput } from '../../server/engines/contract.ts';
import { PersonaPlexServerEngine, type PersonaPlexServerOptions } from '../../server/engines/personaplex-server/engine.ts';
import { recordingLogger } from '../support/log.ts';
import { sleep } from '../support/time.ts';

export const persona = (over: Partial<Persona> = {}): Persona => ({
  id: 'kess',
  name: 'Kess',
  textPrompt: 'You are Kess, the reactor engineer of the Ares base. You are terse and worried.',
  voice: { kind: 'builtin', id: 'NATF2' },
  ...over,
});

/** Fast timings so faults show within a test's patience. */
export function startEngine(servers: PersonaPlexServerOptions['servers'], over: Partial<PersonaPlexServerOptions> = {}) {
  const { log, lines } = recordingLogger();
  return PersonaPlexServerEngine.start({
    servers,
    codec: 'inline',
    handshakeTimeoutMs: 3000,
    timing: { healthIntervalMs: 150, healthTimeoutMs: 300, failuresToDown: 2, backoffBaseMs: 150, backoffMaxMs: 1000 },
    log,
    ...over,
  }).then((engine) => Object.assign(engine, { logLines: lines }));
}

export const tone = (f: number, k: number, amp = 0.3) =>
  Float32Array.from({ length: 1920 }, (_, i) => amp * Math.sin((2 * Math.PI * f * (k * 1920 + i)) / 24_000));
export const silence = () => new Float32Array(1920);
export { rms } from '../support/audio.ts';
export { sleep };

/**
 * Steps the sessions `n` times, `periodMs` apart, like the room tick (faster than real time is fine against a
 * local stand-in). Each step must resolve within `deadlineMs` — the engine never waits on the network.
 */
export async function drive(
  engine: DuplexEngine,
  sessions: SessionId[],
  n: number,
  input: (k: number, s: SessionId) => Float32Array = () => silence(),
  periodMs = 20,
  deadlineMs = 1000,
  until?: (out: StepOutput[]) => boolean,
): Promise<StepOutput[][]> {
  const frames: StepOutput[][] = [];
  for (let k = 0; k < n; k++) {
    const step = engine.step(sessions.map((session) => ({ session, input: input(k, session) })));
    const out = await Promise.race([step, sleep(deadlineMs).then(() => null)]);
    if (!out) throw new Error(`step ${k} did not return within ${deadlineMs} ms`);
    frames.push(out);
    if (until?.(out)) break;
    await sleep(periodMs);
  }
  return frames;
}
