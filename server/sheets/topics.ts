/**
 * A sheet's topics: what players may ask the rehearsal NPC and the lines it answers with. This module reads the
 * ask syntax, checks every word against the recogniser's dictionary (so an author learns at `sheets check` time,
 * with line and column, that "okafor" cannot be heard), and compiles the topics into the JSGF grammar and
 * matching data the rehearsal engine decodes with (server/engines/rehearsal/topic-matcher.ts).
 *
 * Ask syntax: lowercase words; `[optional words]`; `(one | or another)`; `|` also separates whole alternatives.
 *   what's (wrong | going on) with the (reactor | core) [right now]
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { AskNode, CompiledTopic, CompiledTopics } from '../engines/rehearsal/topic-matcher.ts';
import type { SheetIssue } from './issues.ts';
import type { ParsedSheet, PropPath } from './parse.ts';
import { editDistance } from './suggest.ts';

export interface TopicData {
  id: string;
  asks: string[];
  answers: string[];
}

/** The topic fields of a sheet's `rehearsal` group, as authors write them. */
export interface TopicFields {
  topics?: TopicData[];
  not_understood?: string[];
  small_talk?: { hello?: string[]; thanks?: string[]; goodbye?: string[] };
}

export const DEFAULT_NOT_UNDERSTOOD = ["Sorry, I didn't catch that."];

/** Small talk every NPC with topics understands; the sheet writes the answers (`small_talk`). */
export const SMALL_TALK_ASKS: Record<'hello' | 'thanks' | 'goodbye', string[]> = {
  hello: ['(hello | hi | hey) [there]', 'good (morning | afternoon | evening)'],
  thanks: ['thanks [a lot]', 'thank you [very much | so much]', 'cheers'],
  goodbye: ['[good] bye', 'see you [later | around]', "i've got to go", 'i have to go'],
};

/** Words a player may put before a question and after it. Kept short: each one widens what the grammar accepts. */
const LEAD = '(hey | so | okay)';
const TAIL = '(please)';

// ---- the ask syntax ----

export class AskSyntaxError extends Error {
  constructor(
    message: string,
    /** character offset in the ask text */
    readonly offset: number,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** Parses one ask; throws AskSyntaxError with the offset of the problem. */
export function parseAsk(text: string): AskNode {
  const tokens: { t: string; at: number }[] = [];
  const re = /\s*([[\]()|]|[^\s[\]()|]+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (!m[1]) break;
    tokens.push({ t: m[1], at: m.index + m[0].length - m[1].length });
  }
  let i = 0;
  const peek = () => tokens[i];
  const alts = (close?: string): AskNode => {
    const options: AskNode[] = [seq(close)];
    while (peek()?.t === '|') {
      i++;
      options.push(seq(close));
    }
    return options.length === 1 ? options[0]! : { kind: 'alt', options };
  };
  const seq = (close?: string): AskNode => {
    const items: AskNode[] = [];
    for (;;) {
      const tok = peek();
      if (!tok || tok.t === '|' || tok.t === close) break;
      if (tok.t === ')' || tok.t === ']') throw new AskSyntaxError(`unexpected "${tok.t}"`, tok.at, 'every ")" and "]" closes a "(" or "[" before it');
      i++;
      if (tok.t === '(' || tok.t === '[') {
        const want = tok.t === '(' ? ')' : ']';
        const inner = alts(want);
        if (peek()?.t !== want) throw new AskSyntaxError(`"${tok.t}" is never closed`, tok.at, `add "${want}"`);
        i++;
        if (inner.kind === 'seq' && inner.items.length === 0) throw new AskSyntaxError(`empty "${tok.t}${want}"`, tok.at, 'put words inside, or remove it');
        items.push(tok.t === '(' ? inner : { kind: 'opt', item: inner });
        continue;
      }
      const word = tok.t.toLowerCase();
      if (!/^[a-z][a-z']*$/.test(word)) {
        throw new AskSyntaxError(
          `"${tok.t}" is not a word the recogniser can hear`,
          tok.at,
          /\d/.test(tok.t) ? 'spell numbers and codes out as spoken ("r seven", "twenty")' : 'use letters and apostrophes only; no punctuation',
        );
      }
      items.push({ kind: 'word', word });
    }
    if (items.length === 0) {
      const tok = peek();
      throw new AskSyntaxError(tok ? `nothing before "${tok.t}"` : 'the ask is empty', tok?.at ?? text.length, 'write the words a player would say');
    }
    return items.length === 1 ? items[0]! : { kind: 'seq', items };
  };
  const node = alts();
  if (i < tokens.length) throw new AskSyntaxError(`unexpected "${tokens[i]!.t}"`, tokens[i]!.at);
  return node;
}

export function wordsOf(node: AskNode, out = new Set<string>()): Set<string> {
  switch (node.kind) {
    case 'word':
      out.add(node.word);
      break;
    case 'seq':
      node.items.forEach((n) => wordsOf(n, out));
      break;
    case 'alt':
      node.options.forEach((n) => wordsOf(n, out));
      break;
    case 'opt':
      wordsOf(node.item, out);
      break;
  }
  return out;
}

/** An ask tree as JSGF. */
export function toJsgf(node: AskNode): string {
  switch (node.kind) {
    case 'word':
      return node.word;
    case 'seq':
      return node.items.map((n) => (n.kind === 'alt' ? `(${toJsgf(n)})` : toJsgf(n))).join(' ');
    case 'alt':
      return node.options.map(toJsgf).join(' | ');
    case 'opt':
      return `[${toJsgf(node.item)}]`;
  }
}

// ---- the recogniser's dictionary ----

export function dictionaryPath(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('soundswallower')), 'model', 'en-us', 'dict.txt');
}

let dictionary: Set<string> | undefined;
/** The words the US English model can hear (about 134,000; read once, about 100 ms). */
export function recogniserWords(): Set<string> {
  if (!dictionary) {
    dictionary = new Set();
    for (const line of readFileSync(dictionaryPath(), 'utf8').split('\n')) {
      const w = line.slice(0, line.indexOf(' '));
      if (w && !w.endsWith(')')) dictionary.add(w);
    }
  }
  return dictionary;
}

/**
 * The dictionary word nearest in spelling to an unknown one, if any is close. Words in `prefer` (the rest of the
 * sheet) win ties, so "reacter" in a sheet about a reactor suggests "reactor", not "reacted".
 */
export function suggestWord(word: string, prefer: ReadonlySet<string> = new Set()): string | undefined {
  const dict = recogniserWords();
  const squeezed = word.replace(/['-]/g, '');
  if (dict.has(squeezed)) return squeezed;
  let best: string | undefined;
  let bestScore = Math.max(1, Math.floor(word.length / 3)) + 1;
  const consider = (c: string, bonus: number) => {
    if (Math.abs(c.length - word.length) >= bestScore + 1 || c.includes('.') || c.includes('_')) return;
    // a shared first letter and an insertion (the author dropped a letter) are the likelier slips
    const score = editDistance(word, c) - bonus - (c[0] === word[0] ? 0.2 : 0) - (isSubsequence(word, c) ? 0.1 : 0);
    if (score < bestScore) {
      bestScore = score;
      best = c;
    }
  };
  for (const c of prefer) if (dict.has(c)) consider(c, 0.5);
  for (const c of dict) if (c[0] === word[0]) consider(c, 0);
  return best;
}

function isSubsequence(short: string, long: string): boolean {
  let i = 0;
  for (const ch of long) if (ch === short[i]) i++;
  return i === short.length;
}

// ---- checks and compile ----

/** Where character `offset` of the string at `at` sits in the file (plain or quoted scalars on one line). */
function positionIn(parsed: ParsedSheet, source: string | undefined, where: PropPath, text: string, offset: number) {
  const p = parsed.valueAt(where);
  if (source === undefined) return p;
  const line = source.split('\n')[p.line - 1] ?? '';
  const first = line[p.column - 1];
  const quoted = first === '"' || first === "'";
  // only trust the offset when the text sits on that line as written
  if (line.slice(p.column - 1 + (quoted ? 1 : 0)).startsWith(text.slice(0, Math.min(text.length, 8)))) {
    return { line: p.line, column: p.column + offset + (quoted ? 1 : 0) };
  }
  return p;
}

/** Every problem with a sheet's topics: syntax, unknown words (with a suggested spelling), duplicate ids. */
export function checkTopics(parsed: ParsedSheet, fields: TopicFields, source?: string): SheetIssue[] {
  const issues: SheetIssue[] = [];
  const dict = recogniserWords();
  const sheetWords = new Set(
    [...(fields.topics ?? []).flatMap((t) => [...t.answers, t.id]), ...(fields.not_understood ?? [])].join(' ').toLowerCase().match(/[a-z][a-z']*/g) ?? [],
  );
  const seen = new Map<string, number>();
  (fields.topics ?? []).forEach((topic, t) => {
    const first = seen.get(topic.id);
    if (first !== undefined) {
      issues.push({
        file: parsed.file,
        ...parsed.valueAt(['rehearsal', 'topics', t, 'id']),
        message: `topic id "${topic.id}" is used twice`,
        hint: `topic ${first + 1} already has it; merge the two or rename one`,
      });
    }
    seen.set(topic.id, t);
    topic.asks.forEach((ask, a) => {
      const where = ['rehearsal', 'topics', t, 'asks', a];
      try {
        parseAsk(ask);
      } catch (err) {
        if (!(err instanceof AskSyntaxError)) throw err;
        issues.push({ file: parsed.file, ...positionIn(parsed, source, where, ask, err.offset), message: `ask: ${err.message}`, hint: err.hint });
        return;
      }
      const re = /[a-z][a-z']*/gi;
      let m: RegExpExecArray | null;
      const reported = new Set<string>();
      while ((m = re.exec(ask)) !== null) {
        const w = m[0].toLowerCase();
        if (dict.has(w) || reported.has(w)) continue;
        reported.add(w);
        const guess = suggestWord(w, sheetWords);
        issues.push({
          file: parsed.file,
          ...positionIn(parsed, source, where, ask, m.index),
          message: `"${m[0]}" is not in the recogniser's dictionary, so it can never be heard`,
          hint: guess ? `did you mean "${guess}"? Otherwise respell it as it sounds, or leave it out` : 'respell it as it sounds with dictionary words, or leave it out',
        });
      }
    });
  });
  return issues;
}

function node(text: string): AskNode {
  return parseAsk(text);
}

/**
 * The compiled topics for the engine, or undefined when the sheet has none. Call after checkTopics found nothing.
 * `name`: the NPC's name, whose dictionary words a player may use to address it ("Alex, what's …").
 */
export function compileTopics(fields: TopicFields, name: string): CompiledTopics | undefined {
  if (!fields.topics?.length) return undefined;
  const dict = recogniserWords();
  const clean = (s: string) => s.replace(/\s+/g, ' ').trim();
  const topics: CompiledTopic[] = fields.topics.map((t) => ({ id: t.id, asks: t.asks.map(node), answers: t.answers.map(clean) }));
  for (const id of ['hello', 'thanks', 'goodbye'] as const) {
    const answers = fields.small_talk?.[id];
    if (answers?.length && !topics.some((t) => t.id === id)) topics.push({ id, asks: SMALL_TALK_ASKS[id].map(node), answers: answers.map(clean) });
  }
  const names = name
    .toLowerCase()
    .split(/\s+/)
    .filter((w) => /^[a-z][a-z']*$/.test(w) && dict.has(w));
  const nameAlt = names.length ? ` | ${names.join(' | ')}` : '';
  const lead = node(`${LEAD.slice(0, -1)}${nameAlt}) [${LEAD.slice(0, -1)}${nameAlt})]`);
  const tail = node(`${TAIL.slice(0, -1)}${nameAlt})`);
  const rules = topics.map((t, i) => `<t${i}> = ${t.asks.map(toJsgf).join(' | ')};`);
  const jsgf = [
    '#JSGF V1.0;',
    'grammar topics;',
    `public <ask> = [<lead>] (${topics.map((_, i) => `<t${i}>`).join(' | ')}) [<tail>];`,
    `<lead> = ${toJsgf(lead)};`,
    `<tail> = ${toJsgf(tail)};`,
    ...rules,
    '',
  ].join('\n');
  const words = new Set<string>();
  for (const n of [lead, tail, ...topics.flatMap((t) => t.asks)]) wordsOf(n, words);
  return {
    jsgf,
    words: [...words].sort(),
    lead,
    tail,
    topics,
    notUnderstood: (fields.not_understood?.length ? fields.not_understood : DEFAULT_NOT_UNDERSTOOD).map(clean),
  };
}
