/**
 * espeak-ng's WebAssembly build starts its voices' breath noise from the clock, so each process synthesises a
 * slightly different NPC, and some echo figures depend on which. Tests that need one voice every run create their
 * speech (or the engine that speaks) with the clock read as `clock` meanwhile.
 */
export async function withVoiceClock<T>(clock: number, make: () => Promise<T>): Promise<T> {
  const now = Date.now;
  Date.now = () => clock;
  try {
    return await make();
  } finally {
    Date.now = now;
  }
}
