/**
 * What an engine is given to start a session: the persona compiled from a character sheet, with its voice.
 * The voice list is the model's (PersonaPlex ships 18 voice prompts); the rehearsal lines are for the CPU
 * rehearsal engine, which model engines ignore.
 */

import type { InterruptionPolicy } from './interruption.ts';

/** The model's 18 shipped voices. */
export const BUILTIN_VOICES = [
  'NATF0', 'NATF1', 'NATF2', 'NATF3', 'NATM0', 'NATM1', 'NATM2', 'NATM3',
  'VARF0', 'VARF1', 'VARF2', 'VARF3', 'VARF4', 'VARM0', 'VARM1', 'VARM2', 'VARM3', 'VARM4',
] as const;
export type BuiltinVoice = (typeof BUILTIN_VOICES)[number];

export function isBuiltinVoice(x: unknown): x is BuiltinVoice {
  return typeof x === 'string' && (BUILTIN_VOICES as readonly string[]).includes(x);
}

/** The voice reference: one of the built-in voices, or a WAV file of the voice to imitate. */
export type VoiceRef = { kind: 'builtin'; id: BuiltinVoice } | { kind: 'wav'; path: string };

/** Lines the CPU rehearsal engine speaks; model engines ignore them. */
export interface RehearsalLines {
  greeting: string;
  lines: string[];
  backchannels: string[];
  afterInterruption: string;
}

export interface Persona {
  /** character sheet id */
  id: string;
  name: string;
  /** compiled text prompt, plain sentences in second person (engines wrap it with `wrapWithSystemTags`) */
  textPrompt: string;
  voice: VoiceRef;
  rehearsal?: RehearsalLines;
  /** sampling / behaviour seed; same seed, same input → same output */
  seed?: number;
  /** what it does when talked over (server/persona/interruption.ts); absent: 'yield' */
  whenInterrupted?: InterruptionPolicy;
}
