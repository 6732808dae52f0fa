/**
 * Sheet persona → the text prompt, in the form PersonaPlex was trained on: plain second-person sentences, who
 * you are first, then your name, then the situation ("You are an astronaut on a Mars mission. Your name is Alex.
 * You are dealing with a reactor core meltdown. …"). Deterministic: same sheet, same prompt, byte for byte.
 */
import type { InterruptionPolicy } from '../persona/interruption.ts';

/** Persona fields in the order they are compiled. */
export const PERSONA_FIELDS = [
  'background',
  'situation',
  'personality',
  'speaking_style',
  'knows',
  'wants',
  'treats_player',
] as const;
export type PersonaField = (typeof PERSONA_FIELDS)[number];
export type PersonaFields = Partial<Record<PersonaField, string | string[]>>;

/** The validated shape of a sheet file (field names as authors write them). */
export interface SheetData {
  id: string;
  name: string;
  role: string;
  voice: string;
  seed?: number;
  notes?: string;
  persona: PersonaFields;
  hearing?: { hearing_radius?: number; audible_radius?: number };
  conversation?: { when_interrupted?: InterruptionPolicy; hears_npcs?: boolean | string[]; npc_turns?: number };
  rehearsal: { greeting: string; lines: string[]; backchannels: string[]; after_interruption: string };
}

/** One field's sentences, whitespace collapsed (YAML block scalars keep line breaks), each ending in punctuation. */
export function fieldSentences(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  const items = Array.isArray(value) ? value : [value];
  return items.map(normalizeSentence).filter((s) => s.length > 0);
}

export function normalizeSentence(s: string): string {
  const t = s.replace(/\s+/g, ' ').trim();
  if (t === '') return t;
  return /[.!?]["'”’)]?$/.test(t) ? t : `${t.replace(/[,;:]$/, '')}.`;
}

export function compilePrompt(name: string, persona: PersonaFields): string {
  const out: string[] = [];
  for (const field of PERSONA_FIELDS) {
    const sentences = fieldSentences(persona[field]);
    out.push(...sentences);
    if (field === 'background' && !sentences.some((s) => /\byour name is\b/i.test(s))) {
      out.push(`Your name is ${name.trim()}.`);
    }
  }
  return out.join(' ');
}
