/**
 * One sheet file → a CompiledSheet (persona for the engine, hearing radii, token count, start-up cost) or the
 * full list of what is wrong with it. Every problem is collected, not just the first, so one run of
 * `parley sheets check` shows an author everything to fix.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isBuiltinVoice, type Persona } from '../persona/persona.ts';
import { FRAMES_PER_SECOND, promptPhase, wrapWithSystemTags } from '../persona/prompt.ts';
import type { TokenCounter } from '../persona/tokens.ts';
import { sortIssues, type SheetIssue } from './issues.ts';
import { parseSheetSource } from './parse.ts';
import { validateAgainstSchema } from './schema.ts';
import { checkId, checkSecondPerson, emptyPersonaIssue, personaIsEmpty, checkSheetVoice } from './checks.ts';
import { compilePrompt, fieldSentences, PERSONA_FIELDS, type SheetData } from './prompt.ts';
import { checkTopics, compileTopics, type TopicFields } from './topics.ts';

/** Default prompt budget in tokens: 200 steps × 80 ms = 16 s of prompt phase at real-time pace. */
export const DEFAULT_BUDGET_TOKENS = 200;
export const DEFAULT_HEARING = { hearingRadius: 6, audibleRadius: 12 } as const;
/** Scene behaviour when the sheet says nothing: NPCs do not hear NPCs (docs/scenes.md). */
export const DEFAULT_CONVERSATION = { hearsNpcs: false, npcTurns: 4 } as const;

export interface CompiledSheet {
  id: string;
  name: string;
  role: string;
  /** what an engine opens a session with; persona.textPrompt is the compiled prompt (without system tags) */
  persona: Persona;
  hearing: { hearingRadius: number; audibleRadius: number };
  /** who it hears among NPCs (true: all) and how many turns it takes in an exchange among NPCs (docs/scenes.md) */
  conversation: { hearsNpcs: boolean | string[]; npcTurns: number };
  /** tokens of the prompt as the model sees it, "<system> … <system>" included */
  tokens: { count: number; exact: boolean; label: string; budget: number };
  /** model steps before the NPC can speak: voice prompt + 12 silence + prompt tokens */
  startupSteps: number;
  startup: {
    promptSteps: number;
    silenceSteps: number;
    /** frames of a custom WAV voice prompt; undefined for built-in voices, whose length is fixed by the model's voice files */
    voiceSteps?: number;
  };
  /** absolute path of the sheet */
  file: string;
}

export interface CompileOptions {
  counter: TokenCounter;
  budgetTokens?: number;
}

export interface CompileResult {
  sheet?: CompiledSheet;
  issues: SheetIssue[];
  /** absolute paths whose change should trigger a recompile (the sheet, and its WAV voice when it has one) */
  dependencies: string[];
}

export function compileSheetFile(file: string, options: CompileOptions): CompileResult {
  const abs = path.resolve(file);
  let source: string;
  try {
    source = readFileSync(abs, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      issues: [{ file: abs, line: 1, column: 1, message: code === 'ENOENT' ? 'file not found' : `cannot read the sheet: ${(err as Error).message}` }],
      dependencies: [abs],
    };
  }
  return compileSheetSource(abs, source, options);
}

export function compileSheetSource(file: string, source: string, options: CompileOptions): CompileResult {
  const r = compileUnsorted(file, source, options);
  return { ...r, issues: sortIssues(r.issues) };
}

function compileUnsorted(file: string, source: string, options: CompileOptions): CompileResult {
  const abs = path.resolve(file);
  const dependencies = [abs];
  const budget = options.budgetTokens ?? DEFAULT_BUDGET_TOKENS;
  const issues: SheetIssue[] = [];
  if (!/\.ya?ml$/i.test(abs)) {
    issues.push({ file: abs, line: 1, column: 1, message: 'a character sheet must be a .yaml file', hint: 'name it <id>.yaml' });
    return { issues, dependencies };
  }

  const parsed = parseSheetSource(abs, source);
  if (parsed.issues.length) return { issues: parsed.issues, dependencies };
  const value = parsed.value;
  if (value === null || value === undefined) {
    return { issues: [{ file: abs, line: 1, column: 1, message: 'the sheet is empty', hint: 'start from character-sheets/alex.yaml' }], dependencies };
  }

  const root = typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  const emptyPersona = root !== undefined && 'persona' in root && personaIsEmpty(root.persona);
  if (emptyPersona) issues.push(emptyPersonaIssue(parsed));
  issues.push(...validateAgainstSchema(parsed, emptyPersona ? ['/persona'] : []));

  // Past this point the shape is known to be right; the remaining checks need it.
  const sheet = value as SheetData;
  const shapeOk = issues.length === 0;
  if (root && typeof root.id === 'string' && /^[a-z][a-z0-9-]*$/.test(root.id)) issues.push(...checkId(parsed, sheet));
  // an unknown voice id is reported by the schema; only a .wav path is looked up on disk
  const voice = root && typeof root.voice === 'string' && (isBuiltinVoice(root.voice) || /\.wav$/i.test(root.voice)) ? checkSheetVoice(parsed, sheet) : undefined;
  if (voice) issues.push(...voice.issues);
  if (voice?.dependency) dependencies.push(voice.dependency);
  if (root && personaShapeOk(root.persona)) issues.push(...checkSecondPerson(parsed, sheet));
  if (!shapeOk) return { issues, dependencies };
  const topicFields = sheet.rehearsal as SheetData['rehearsal'] & TopicFields;
  issues.push(...checkTopics(parsed, topicFields, source));

  const textPrompt = compilePrompt(sheet.name, sheet.persona);
  const count = options.counter.count(wrapWithSystemTags(textPrompt));
  if (count > budget) {
    const perField = PERSONA_FIELDS.filter((f) => sheet.persona[f] !== undefined)
      .map((f) => ({ f, n: options.counter.count(fieldSentences(sheet.persona[f]).join(' ')) }))
      .sort((a, b) => b.n - a.n)
      .slice(0, 3)
      .map(({ f, n }) => `${f} ${n}`);
    issues.push({
      file: abs,
      ...parsed.keyAt(['persona']),
      message: `prompt is over budget: ${count} tokens (${options.counter.label}) > budget ${budget}`,
      hint: `shorten the persona (largest: ${perField.join(', ')}); each token costs one 80 ms model step before the NPC can speak${options.counter.exact ? '' : '; counting with the model tokenizer (--tokenizer / PARLEY_TOKENIZER) gives an exact, lower count'}`,
    });
  }
  if (issues.length || !voice?.resolved) return { issues, dependencies };

  const voiceSteps = voice.resolved.wav ? Math.ceil(voice.resolved.wav.durationSec * FRAMES_PER_SECOND) : undefined;
  const phase = promptPhase(voiceSteps ?? 0, count);
  const r = sheet.rehearsal;
  const topics = compileTopics(topicFields, sheet.name.trim());
  return {
    issues,
    dependencies,
    sheet: {
      id: sheet.id,
      name: sheet.name.trim(),
      role: sheet.role.trim(),
      persona: {
        id: sheet.id,
        name: sheet.name.trim(),
        textPrompt,
        voice: voice.resolved.voice,
        rehearsal: {
          greeting: r.greeting.trim(),
          lines: r.lines.map((l) => l.trim()),
          backchannels: r.backchannels.map((b) => b.trim()),
          afterInterruption: r.after_interruption.trim(),
          ...(topics ? { topics } : {}),
        },
        ...(sheet.seed !== undefined ? { seed: sheet.seed } : {}),
        ...(sheet.conversation?.when_interrupted !== undefined ? { whenInterrupted: sheet.conversation.when_interrupted } : {}),
      },
      hearing: {
        hearingRadius: sheet.hearing?.hearing_radius ?? DEFAULT_HEARING.hearingRadius,
        audibleRadius: sheet.hearing?.audible_radius ?? DEFAULT_HEARING.audibleRadius,
      },
      conversation: {
        hearsNpcs: sheet.conversation?.hears_npcs ?? DEFAULT_CONVERSATION.hearsNpcs,
        npcTurns: sheet.conversation?.npc_turns ?? DEFAULT_CONVERSATION.npcTurns,
      },
      tokens: { count, exact: options.counter.exact, label: options.counter.label, budget },
      startupSteps: phase.total,
      startup: { promptSteps: count, silenceSteps: phase.silenceSteps, voiceSteps },
      file: abs,
    },
  };
}

/** persona is a map of strings or string lists (enough to read its sentences even when other fields are wrong) */
function personaShapeOk(p: unknown): boolean {
  if (!p || typeof p !== 'object' || Array.isArray(p)) return false;
  return Object.values(p).every((v) => typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string')));
}
