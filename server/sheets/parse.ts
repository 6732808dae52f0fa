/**
 * YAML → plain value, keeping a way back from any property path to its line and column in the file.
 */
import { LineCounter, parseDocument, isMap, isSeq, isScalar, type Node, type Pair } from 'yaml';
import type { SheetIssue } from './issues.ts';

export type PropPath = (string | number)[];
export interface Pos { line: number; column: number }

export interface ParsedSheet {
  file: string;
  /** plain JS value of the document; undefined when the YAML could not be read */
  value: unknown;
  /** YAML syntax problems */
  issues: SheetIssue[];
  /** where the value at `path` starts (or its closest existing ancestor) */
  valueAt(path: PropPath): Pos;
  /** where the key of the property at `path` starts (falls back to valueAt) */
  keyAt(path: PropPath): Pos;
}

const START: Pos = { line: 1, column: 1 };

export function parseSheetSource(file: string, source: string): ParsedSheet {
  const lines = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const posOf = (offset: number | undefined): Pos => {
    if (offset === undefined) return START;
    const p = lines.linePos(offset);
    return { line: p.line, column: p.col };
  };

  const issues: SheetIssue[] = doc.errors.map((e) => {
    const at = posOf(e.pos?.[0]);
    return { file, ...at, message: `YAML: ${firstLine(e.message)}`, hint: yamlHint(e.code) };
  });

  let value: unknown;
  if (issues.length === 0) {
    try {
      value = doc.toJS({ maxAliasCount: 50 });
    } catch (err) {
      issues.push({ file, ...START, message: `YAML: ${(err as Error).message}` });
    }
  }

  /** walk the node tree as far as the path goes; returns the last pair/node reached */
  const walk = (path: PropPath): { node: Node | null; pair: Pair | null } => {
    let node = doc.contents as Node | null;
    let pair: Pair | null = null;
    for (const seg of path) {
      if (isMap(node)) {
        const found = node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(seg));
        if (!found) return { node, pair };
        pair = found as Pair;
        node = (found.value as Node | null) ?? null;
        if (!node) return { node: null, pair };
      } else if (isSeq(node) && typeof seg === 'number' && node.items[seg]) {
        node = node.items[seg] as Node;
        pair = null;
      } else {
        return { node, pair };
      }
    }
    return { node, pair };
  };
  const nodeStart = (n: unknown): number | undefined => (n && (n as Node).range ? (n as Node).range![0] : undefined);

  return {
    file,
    value,
    issues,
    valueAt(path) {
      const { node, pair } = walk(path);
      return posOf(nodeStart(node) ?? nodeStart(pair?.key));
    },
    keyAt(path) {
      const { node, pair } = walk(path);
      return posOf(nodeStart(pair?.key) ?? nodeStart(node));
    },
  };
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}

function yamlHint(code: string | undefined): string | undefined {
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'each field may appear once; delete or merge the repeated one';
    case 'TAB_AS_INDENT':
      return 'indent with spaces, not tabs';
    case 'BAD_INDENT':
    case 'MISSING_CHAR':
    case 'UNEXPECTED_TOKEN':
      return 'check the indentation and that each "key: value" is on its own line';
    case 'MULTILINE_IMPLICIT_KEY':
      return 'a value that spans lines needs a block scalar (">" or "|") or quotes';
    case 'BLOCK_AS_IMPLICIT_KEY':
      return 'a key is missing its ":"';
    default:
      return undefined;
  }
}
