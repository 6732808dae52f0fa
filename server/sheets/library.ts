/**
 * The server's view of character-sheets/: compiled sheets by id, recompiled when a file (or its WAV voice)
 * changes on disk, so an edited sheet applies to the NPC's next session without a restart. An invalid sheet
 * only affects its own NPC: get() throws a SheetError for it, every other id keeps working.
 */
import { readdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { compileSheetFile, DEFAULT_BUDGET_TOKENS, type CompiledSheet, type CompileResult } from './compile.ts';
import { formatIssue, SheetError, sortIssues, type SheetIssue } from './issues.ts';
import { estimateCounter, loadSentencePieceCounter, type TokenCounter } from '../persona/tokens.ts';
import { silentLogger, type Logger } from '../log.ts';

export { SheetError, formatIssue, type SheetIssue } from './issues.ts';
export type { CompiledSheet } from './compile.ts';

export interface SheetLibraryOptions {
  /** folder of <id>.yaml files */
  dir: string;
  /** the model's SentencePiece file for exact token counts; without it counts are labelled estimates */
  tokenizerPath?: string;
  /** an already loaded counter (e.g. shared by several libraries); takes precedence over tokenizerPath */
  tokenCounter?: TokenCounter;
  /** prompt budget in tokens (default 200) */
  budgetTokens?: number;
  /** recompile a sheet on get() when its file changed (default true; false freezes sheets at first use, for production) */
  reload?: boolean;
  /** also watch the folder and compile changed sheets at once, so errors show in the log on save (implies reload) */
  watch?: boolean;
  /** default: silent */
  log?: Logger;
}

const ID = /^[a-z][a-z0-9-]{0,63}$/;
const SHEET_FILE = /^[^.].*\.ya?ml$/i;

interface Entry {
  signature: string;
  result: CompileResult;
}

export class SheetLibrary {
  readonly dir: string;
  readonly budgetTokens: number;
  /** set when tokenizerPath could not be loaded; counts then fall back to the labelled estimate */
  tokenizerError?: Error;
  private counter: TokenCounter = estimateCounter;
  private tokenizerPending: boolean;
  private readonly loaded: Promise<void>;
  private readonly cache = new Map<string, Entry>();
  private readonly reload: boolean;
  private readonly log: Logger;
  private watcher?: FSWatcher;
  private readonly timers = new Map<string, NodeJS.Timeout>();

  /** Prefer `await SheetLibrary.open(…)` when a tokenizer is configured: it resolves once counts are exact. */
  static async open(options: SheetLibraryOptions): Promise<SheetLibrary> {
    const lib = new SheetLibrary(options);
    await lib.ready();
    return lib;
  }

  constructor(options: SheetLibraryOptions) {
    this.dir = path.resolve(options.dir);
    this.budgetTokens = options.budgetTokens ?? DEFAULT_BUDGET_TOKENS;
    if (!(Number.isInteger(this.budgetTokens) && this.budgetTokens > 0)) {
      throw new RangeError(`prompt budget must be a positive whole number of tokens, got ${options.budgetTokens}`);
    }
    this.log = options.log ?? silentLogger;
    this.reload = options.reload !== false || options.watch === true;
    if (options.tokenCounter) this.counter = options.tokenCounter;
    this.tokenizerPending = !options.tokenCounter && options.tokenizerPath !== undefined;
    this.loaded = this.tokenizerPending && options.tokenizerPath
      ? loadSentencePieceCounter(options.tokenizerPath).then(
          (counter) => {
            this.counter = counter;
            this.cache.clear();
          },
          (err: Error) => {
            this.tokenizerError = err;
            this.log.warn({ err: err.message }, 'no tokenizer; token counts are estimates');
          },
        ).finally(() => {
          this.tokenizerPending = false;
        })
      : Promise.resolve();
    if (options.watch) this.startWatching();
  }

  /** Resolves when the tokenizer (if configured) has loaded or failed to load; never rejects. */
  ready(): Promise<void> {
    return this.loaded;
  }

  /** How counts are made right now: "exact (…)" or "estimate". */
  get tokenLabel(): string {
    return this.counter.label;
  }

  /** Compiled sheet by id, recompiled when its file changed; throws SheetError when invalid or unknown. */
  get(id: string): CompiledSheet {
    this.assertReady();
    if (typeof id !== 'string' || !ID.test(id)) {
      throw new SheetError(
        [{ file: this.dir, line: 1, column: 1, message: `no character sheet with id ${JSON.stringify(id)}`, hint: 'ids are lowercase letters, digits and dashes' }],
        `unknown character sheet ${JSON.stringify(id)}`,
      );
    }
    const files = ['.yaml', '.yml'].map((ext) => path.join(this.dir, `${id}${ext}`)).filter(isFile);
    if (files.length === 0) {
      const known = this.listFiles().map((f) => f.replace(/\.ya?ml$/i, ''));
      throw new SheetError(
        [{ file: path.join(this.dir, `${id}.yaml`), line: 1, column: 1, message: `no character sheet with id "${id}"`, hint: known.length ? `known ids: ${known.join(', ')}` : `no sheets in ${this.dir}` }],
        `unknown character sheet "${id}"`,
      );
    }
    if (files.length > 1) throw new SheetError([duplicateIssue(files[1]!, files[0]!)], `character sheet "${id}" is defined twice`);
    const result = this.load(files[0]!);
    if (result.sheet) return result.sheet;
    throw new SheetError(result.issues, `character sheet "${id}" is invalid (${result.issues.length} ${result.issues.length === 1 ? 'error' : 'errors'})`);
  }

  /** Every sheet in the folder, valid and invalid: the valid ones compiled, all problems listed. */
  checkAll(): { sheets: CompiledSheet[]; issues: SheetIssue[] } {
    this.assertReady();
    const sheets: CompiledSheet[] = [];
    const issues: SheetIssue[] = [];
    if (!isDir(this.dir)) {
      return { sheets, issues: [{ file: this.dir, line: 1, column: 1, message: 'character sheet folder not found' }] };
    }
    const seen = new Map<string, string>();
    for (const name of this.listFiles()) {
      const file = path.join(this.dir, name);
      const stem = name.replace(/\.ya?ml$/i, '');
      const first = seen.get(stem);
      if (first) {
        issues.push(duplicateIssue(file, first));
        continue;
      }
      seen.set(stem, file);
      const result = this.load(file);
      if (result.sheet) sheets.push(result.sheet);
      issues.push(...result.issues);
    }
    return { sheets, issues: sortIssues(issues) };
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private assertReady(): void {
    if (this.tokenizerPending) {
      throw new Error('SheetLibrary: the tokenizer is still loading; await library.ready() (or use SheetLibrary.open) before get()');
    }
  }

  private listFiles(): string[] {
    try {
      return readdirSync(this.dir).filter((n) => SHEET_FILE.test(n) && isFile(path.join(this.dir, n))).sort();
    } catch {
      return [];
    }
  }

  /** Cached compile, redone when the sheet or anything it depends on changed (cheap: a stat per file). */
  private load(file: string): CompileResult {
    const cached = this.cache.get(file);
    if (cached && (!this.reload || cached.signature === signature(cached.result.dependencies))) return cached.result;
    const result = compileSheetFile(file, { counter: this.counter, budgetTokens: this.budgetTokens });
    if (result.sheet) deepFreeze(result.sheet);
    this.cache.set(file, { signature: signature(result.dependencies), result });
    const name = path.basename(file);
    if (result.sheet) {
      if (cached) this.log.info({ sheet: name, tokens: result.sheet.tokens.count, counting: result.sheet.tokens.label }, 'sheet reloaded');
    } else {
      this.log.warn({ sheet: name, issues: result.issues.map((i) => formatIssue(i)) }, 'sheet is invalid; its NPC will not be placed until it is fixed');
    }
    return result;
  }

  private startWatching(): void {
    try {
      this.watcher = watch(this.dir, { persistent: false }, (_event, filename) => {
        if (!filename || !SHEET_FILE.test(String(filename))) return;
        const file = path.join(this.dir, String(filename));
        // editors write in several steps; compile once things settle
        clearTimeout(this.timers.get(file));
        this.timers.set(
          file,
          setTimeout(() => {
            this.timers.delete(file);
            if (!this.tokenizerPending && isFile(file)) this.load(file);
          }, 100).unref(),
        );
      });
      this.watcher.on('error', (err) => this.log.warn({ dir: this.dir, err: err.message }, 'stopped watching the sheets folder'));
    } catch (err) {
      this.log.warn({ dir: this.dir, err: (err as Error).message }, 'cannot watch the sheets folder; changes still apply on the next session');
    }
  }
}

function duplicateIssue(file: string, first: string): SheetIssue {
  return {
    file,
    line: 1,
    column: 1,
    message: `duplicate sheet: ${path.basename(first)} already defines this id`,
    hint: 'keep one of the two files',
  };
}

function signature(files: string[]): string {
  return files
    .map((f) => {
      try {
        const s = statSync(f);
        return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
      } catch {
        return 'missing';
      }
    })
    .join('|');
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
