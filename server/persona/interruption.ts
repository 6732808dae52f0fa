/**
 * What an NPC does when someone talks over it, from its sheet's `conversation.when_interrupted`. The rehearsal
 * engine keeps each one exactly (server/engines/rehearsal/interruption-policy.ts); what the model engines can
 * and cannot promise is in docs/scenes.md.
 *
 *   yield          stop at once (the default, and what every NPC did before policies existed)
 *   finish_phrase  finish the phrase it is in (up to the next , . ; : ! ? or the line's end), then stop
 *   hold           keep the floor to the end of the line, then answer what was said over it
 *   talk_over      keep the floor to the end of the line as if nothing was said over it
 */
export const INTERRUPTION_POLICIES = ['yield', 'finish_phrase', 'hold', 'talk_over'] as const;
export type InterruptionPolicy = (typeof INTERRUPTION_POLICIES)[number];

export function isInterruptionPolicy(x: unknown): x is InterruptionPolicy {
  return typeof x === 'string' && (INTERRUPTION_POLICIES as readonly string[]).includes(x);
}

/** The policy a persona asks for; anything missing or unknown is 'yield' (today's behaviour). */
export function interruptionPolicyOf(persona: { whenInterrupted?: unknown } | undefined): InterruptionPolicy {
  const p = persona?.whenInterrupted;
  return isInterruptionPolicy(p) ? p : 'yield';
}
