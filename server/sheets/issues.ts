/**
 * Problems found in a character sheet, each pinned to a file position so an author can jump straight to it.
 */
import path from 'node:path';

export interface SheetIssue {
  /** absolute path of the sheet (formatIssue prints it relative to the working directory) */
  file: string;
  /** 1-based */
  line: number;
  /** 1-based */
  column: number;
  message: string;
  hint?: string;
}

/** "character-sheets/alex.yaml:12:5 error: … (hint: …)" — the file:line:col form editors and terminals link. */
export function formatIssue(i: SheetIssue, cwd: string = process.cwd()): string {
  const rel = path.relative(cwd, i.file);
  const shown = rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : i.file;
  return `${shown}:${i.line}:${i.column} error: ${i.message}${i.hint ? ` (hint: ${i.hint})` : ''}`;
}

/** Thrown when a sheet cannot be used; `.message` lists every formatted issue, one per line. */
export class SheetError extends Error {
  readonly issues: SheetIssue[];
  constructor(issues: SheetIssue[], summary?: string) {
    const head = summary ?? `character sheet invalid (${issues.length} ${issues.length === 1 ? 'error' : 'errors'})`;
    super([head, ...issues.map((i) => `  ${formatIssue(i)}`)].join('\n'));
    this.name = 'SheetError';
    this.issues = issues;
  }
}

/** Stable order for listing: by file, then position. */
export function sortIssues(issues: SheetIssue[]): SheetIssue[] {
  return [...issues].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
}
