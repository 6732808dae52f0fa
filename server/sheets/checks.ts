/**
 * Checks the schema cannot express: the id matches the file name, a custom voice WAV exists and is readable,
 * the persona says something, and it speaks to the character in the second person.
 */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { isBuiltinVoice, type VoiceRef } from '../persona/persona.ts';
import type { SheetIssue } from './issues.ts';
import type { ParsedSheet } from './parse.ts';
import { PERSONA_FIELDS, type SheetData } from './prompt.ts';
import { readWavInfo, type WavInfo } from './wav.ts';

export function sheetStem(file: string): string {
  return path.basename(file).replace(/\.ya?ml$/i, '');
}

export function checkId(parsed: ParsedSheet, sheet: SheetData): SheetIssue[] {
  const stem = sheetStem(parsed.file);
  if (sheet.id === stem) return [];
  return [
    {
      file: parsed.file,
      ...parsed.valueAt(['id']),
      message: `id "${sheet.id}" does not match the file name "${path.basename(parsed.file)}"`,
      hint: `the game finds a sheet by its file name: rename the file to ${sheet.id}.yaml or set "id: ${stem}"`,
    },
  ];
}

export interface SheetVoice {
  voice: VoiceRef;
  wav?: WavInfo;
}

/** `dependency`: the WAV's absolute path, present or not, so the sheet recompiles when it appears or changes. */
export function checkSheetVoice(parsed: ParsedSheet, sheet: SheetData): { resolved?: SheetVoice; issues: SheetIssue[]; dependency?: string } {
  if (isBuiltinVoice(sheet.voice)) return { resolved: { voice: { kind: 'builtin', id: sheet.voice } }, issues: [] };
  const abs = path.resolve(path.dirname(parsed.file), sheet.voice);
  const at = { file: parsed.file, ...parsed.valueAt(['voice']) };
  if (!existsSync(abs)) {
    return {
      dependency: abs,
      issues: [
        {
          ...at,
          message: `voice file not found: ${sheet.voice} (looked for ${abs})`,
          hint: 'the path is relative to the sheet; fix it, add the WAV, or use a built-in voice such as NATF2',
        },
      ],
    };
  }
  try {
    const wav = readWavInfo(abs);
    return { resolved: { voice: { kind: 'wav', path: abs }, wav }, issues: [], dependency: abs };
  } catch (err) {
    return {
      dependency: abs,
      issues: [{ ...at, message: `voice file ${sheet.voice} cannot be used: ${(err as Error).message}`, hint: 'use a PCM WAV, e.g. 24 kHz mono, about 10 s of clear speech' }],
    };
  }
}

/** True when the persona has no field with any text in it. */
export function personaIsEmpty(persona: unknown): boolean {
  if (persona === null || persona === undefined) return true;
  if (typeof persona !== 'object' || Array.isArray(persona)) return false; // wrong type: the schema reports it
  return !Object.values(persona).some((v) =>
    typeof v === 'string' ? v.trim() !== '' : Array.isArray(v) ? v.some((x) => typeof x !== 'string' || x.trim() !== '') : v !== null && v !== undefined,
  );
}

export function emptyPersonaIssue(parsed: ParsedSheet): SheetIssue {
  return {
    file: parsed.file,
    ...parsed.keyAt(['persona']),
    message: 'persona is empty',
    hint: 'write at least "background: You are …" — the model only knows who it is from these sentences',
  };
}

const TITLES = /^(commander|captain|doctor|dr\.?|lieutenant|lt\.?|chief|officer|sergeant|mr\.?|mrs\.?|ms\.?|mx\.?|professor|prof\.?)$/i;
const FIRST_PERSON = /^(I|I'm|I’m|I've|I’ve|I'll|I’ll|I'd|I’d|My|Me|Mine|We|Our)\b/;

/** Flags sentences that talk as the character ("I am …") or about it ("Alex is …") instead of to it. */
export function checkSecondPerson(parsed: ParsedSheet, sheet: SheetData): SheetIssue[] {
  const issues: SheetIssue[] = [];
  const full = typeof sheet.name === 'string' ? sheet.name.trim() : '';
  const first = full.split(/\s+/)[0]!;
  // "Commander Okafor is on the bridge" in someone else's sheet must not match "Commander Vance"
  const names = (TITLES.test(first) ? [full] : [full, first]).filter((n) => n.length > 1);
  for (const field of PERSONA_FIELDS) {
    const value = sheet.persona[field];
    if (typeof value !== 'string' && !Array.isArray(value)) continue;
    const items = Array.isArray(value) ? value : [value];
    items.forEach((item, index) => {
      const where = Array.isArray(value) ? ['persona', field, index] : ['persona', field];
      for (const sentence of item.split(/(?<=[.!?])\s+/)) {
        const s = sentence.trim();
        if (FIRST_PERSON.test(s)) {
          issues.push({
            file: parsed.file,
            ...parsed.valueAt(where),
            message: `persona.${field} is written in the first person ("${clip(s)}")`,
            hint: 'write to the character: "You are …", "Your …" — the model was trained on second-person prompts',
          });
          return;
        }
        const named = names.find((n) => s.startsWith(`${n} `) && !/^\S+\s+(and|or)\b/.test(s));
        if (named && /^\S+(\s+\S+)?\s+(is|was|has|had|works|wants|knows|likes|speaks|treats|feels|thinks|believes)\b/.test(s)) {
          issues.push({
            file: parsed.file,
            ...parsed.valueAt(where),
            message: `persona.${field} describes ${named} in the third person ("${clip(s)}")`,
            hint: `write to the character: "You …" instead of "${named} …"`,
          });
          return;
        }
      }
    });
  }
  return issues;
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 37)}…` : s;
}
