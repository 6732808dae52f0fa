/**
 * `parley sheets check [files…]` and `parley sheets prompt <id|file>`: what an author runs while writing a sheet.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { compileSheetFile, type CompiledSheet } from '../sheets/compile.ts';
import { FRAMES_PER_SECOND } from '../persona/prompt.ts';
import { formatIssue, sortIssues, type SheetIssue } from '../sheets/issues.ts';
import { SheetError, SheetLibrary } from '../sheets/library.ts';
import { sheetStem } from '../sheets/checks.ts';
import { estimateCounter, loadSentencePieceCounter, type TokenCounter } from '../persona/tokens.ts';
import { parseArgs, UsageError } from './args.ts';
import type { CompiledTopics } from '../engines/rehearsal/topic-matcher.ts';

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  env: Record<string, string | undefined>;
  cwd: string;
}

export const SHEETS_USAGE = `usage:
  parley sheets check [files or folders…]   validate sheets (default: the sheet folder); exit 1 on any error
  parley sheets prompt <id | file.yaml>      show the compiled prompt, token count, voice, start-up steps and topic grammar

options:
  --dir <folder>        sheet folder (default $PARLEY_SHEETS or character-sheets)
  --tokenizer <file>    the model's SentencePiece .model for exact counts (default $PARLEY_TOKENIZER)
  --budget <tokens>     prompt budget (default $PARLEY_PROMPT_BUDGET or 200)
  --json                (prompt) print the compiled sheet as JSON`;

interface Settings {
  dir: string;
  tokenizer?: string;
  budget?: number;
}

function settings(options: Record<string, string | true>, io: Io): Settings {
  const dir = path.resolve(io.cwd, String(options.dir ?? io.env.PARLEY_SHEETS ?? 'character-sheets'));
  const tokenizerOpt = options.tokenizer ?? io.env.PARLEY_TOKENIZER;
  const tokenizer = tokenizerOpt ? path.resolve(io.cwd, String(tokenizerOpt)) : undefined;
  const budgetOpt = options.budget ?? io.env.PARLEY_PROMPT_BUDGET;
  let budget: number | undefined;
  if (budgetOpt !== undefined) {
    budget = Number(budgetOpt);
    if (!Number.isInteger(budget) || budget <= 0) throw new UsageError(`budget must be a positive whole number of tokens, got "${budgetOpt}"`);
  }
  return { dir, tokenizer, budget };
}

async function counterFor(s: Settings): Promise<TokenCounter> {
  if (!s.tokenizer) return estimateCounter;
  try {
    return await loadSentencePieceCounter(s.tokenizer);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export async function runSheets(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'check') return check(rest, io);
  if (command === 'prompt') return prompt(rest, io);
  if (command === undefined || command === 'help' || command === '--help') {
    io.out(SHEETS_USAGE);
    return command === undefined ? 2 : 0;
  }
  throw new UsageError(`unknown command "sheets ${command}"`);
}

async function check(argv: string[], io: Io): Promise<number> {
  const { positionals, options } = parseArgs(argv, ['dir', 'tokenizer', 'budget'], []);
  const s = settings(options, io);
  const counter = await counterFor(s);
  const targets = positionals.length ? positionals.map((p) => path.resolve(io.cwd, p)) : [s.dir];

  const sheets: CompiledSheet[] = [];
  const issues: SheetIssue[] = [];
  let files = 0;
  const byId = new Map<string, string>();
  for (const target of targets) {
    if (isDir(target)) {
      const lib = new SheetLibrary({ dir: target, budgetTokens: s.budget, tokenCounter: counter });
      const all = lib.checkAll();
      files += new Set([...all.sheets.map((x) => x.file), ...all.issues.map((i) => i.file)]).size;
      sheets.push(...all.sheets);
      issues.push(...all.issues);
      continue;
    }
    files++;
    // the same id in two folders is fine (a copy being edited); twice in one folder is not
    const stem = path.join(path.dirname(target), sheetStem(target));
    const twin = byId.get(stem);
    if (twin && twin !== target) {
      issues.push({ file: target, line: 1, column: 1, message: `duplicate sheet: ${path.basename(twin)} already defines this id`, hint: 'keep one of the two files' });
      continue;
    }
    byId.set(stem, target);
    const r = compileSheetFile(target, { counter, budgetTokens: s.budget });
    if (r.sheet) sheets.push(r.sheet);
    issues.push(...r.issues);
  }

  for (const sheet of sheets) io.out(`ok    ${rel(io, sheet.file)}  ${summary(sheet)}`);
  const sorted = sortIssues(issues);
  for (const i of sorted) io.out(formatIssue(i, io.cwd));
  const bad = new Set(sorted.map((i) => i.file)).size;
  io.out(
    `${files} ${files === 1 ? 'sheet' : 'sheets'} checked: ${sheets.length} ok` +
      (sorted.length ? `, ${bad} invalid, ${sorted.length} ${sorted.length === 1 ? 'error' : 'errors'}` : '') +
      ` (tokens: ${counter.label})`,
  );
  return sorted.length || files === 0 ? 1 : 0;
}

async function prompt(argv: string[], io: Io): Promise<number> {
  const { positionals, options } = parseArgs(argv, ['dir', 'tokenizer', 'budget'], ['json']);
  if (positionals.length !== 1) throw new UsageError('sheets prompt takes one id or file, e.g. "parley sheets prompt alex"');
  const s = settings(options, io);
  const target = positionals[0]!;
  let sheet: CompiledSheet;
  try {
    if (/\.ya?ml$/i.test(target)) {
      const r = compileSheetFile(path.resolve(io.cwd, target), { counter: await counterFor(s), budgetTokens: s.budget });
      if (!r.sheet) throw new SheetError(r.issues);
      sheet = r.sheet;
    } else {
      const lib = new SheetLibrary({ dir: s.dir, budgetTokens: s.budget, tokenCounter: await counterFor(s) });
      sheet = lib.get(target);
    }
  } catch (err) {
    if (!(err instanceof SheetError)) throw err;
    for (const i of err.issues) io.out(formatIssue(i, io.cwd));
    return 1;
  }
  if (options.json) {
    io.out(JSON.stringify(sheet, null, 2));
    return 0;
  }
  const voice = sheet.persona.voice.kind === 'builtin' ? `${sheet.persona.voice.id} (built-in)` : `${rel(io, sheet.persona.voice.path)} (custom WAV)`;
  const st = sheet.startup;
  const parts = [`${st.silenceSteps} silence`, `${st.promptSteps} prompt`];
  if (st.voiceSteps !== undefined) parts.unshift(`${st.voiceSteps} voice`);
  io.out(`${sheet.name} (${sheet.id}): ${sheet.role}`);
  io.out(`file      ${rel(io, sheet.file)}`);
  io.out(`voice     ${voice}`);
  io.out(`tokens    ${sheet.tokens.count} of ${sheet.tokens.budget} (${sheet.tokens.label}; "<system> … <system>" included)`);
  io.out(
    `start-up  ${sheet.startupSteps} steps (${parts.join(' + ')}) = ${(sheet.startupSteps / FRAMES_PER_SECOND).toFixed(1)} s at 80 ms a step` +
      (st.voiceSteps === undefined ? ', plus the built-in voice prompt' : ''),
  );
  io.out(`hearing   hears players within ${sheet.hearing.hearingRadius} m; heard up to ${sheet.hearing.audibleRadius} m`);
  io.out('');
  io.out(sheet.persona.textPrompt);
  const topics = (sheet.persona.rehearsal as { topics?: CompiledTopics } | undefined)?.topics;
  if (topics) {
    io.out('');
    io.out(`topics (rehearsal engine): ${topics.topics.map((t) => t.id).join(', ')}; grammar, ${topics.words.length} words:`);
    io.out(topics.jsgf.trimEnd());
  }
  return 0;
}

function summary(sheet: CompiledSheet): string {
  const v = sheet.persona.voice;
  return `${sheet.name}: ${sheet.tokens.count}/${sheet.tokens.budget} tokens, voice ${v.kind === 'builtin' ? v.id : path.basename(v.path)}, ${sheet.startupSteps} start-up steps`;
}

function rel(io: Io, file: string): string {
  const r = path.relative(io.cwd, file);
  return r && !r.startsWith('..') && !path.isAbsolute(r) ? r : file;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
