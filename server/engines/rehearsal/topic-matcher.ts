/**
 * What a rehearsal NPC understands: its sheet's topics, compiled (server/sheets/topics.ts) into plain data a
 * worker can receive — the JSGF grammar the recogniser decodes against, and each topic's ask patterns as a small
 * tree. The recogniser returns words; this module says which topic those words ask about, and which of the
 * sheet's lines answers it. It never makes up a line: every answer is text the sheet wrote.
 */

/** One ask pattern, parsed: words in sequence, alternatives, optional parts. */
export type AskNode =
  | { kind: 'word'; word: string }
  | { kind: 'seq'; items: AskNode[] }
  | { kind: 'alt'; options: AskNode[] }
  | { kind: 'opt'; item: AskNode };

export interface CompiledTopic {
  /** the sheet's topic id (small talk: 'hello', 'thanks', 'goodbye') */
  id: string;
  /** the ways a player may ask, parsed */
  asks: AskNode[];
  /** what the NPC answers, in order, one per time asked (then round again) */
  answers: string[];
}

/** A sheet's topics as an engine receives them in `persona.rehearsal.topics`. */
export interface CompiledTopics {
  /** the JSGF grammar: the topics' asks, optional lead-in and closing words, and a garbage (phone-loop) path */
  jsgf: string;
  /** dictionary words the grammar uses (all in the recogniser's dictionary; checked when the sheet compiled) */
  words: string[];
  /** words a player may say before the question ("hey", "so", the NPC's name …) and after it ("please") */
  lead: AskNode;
  tail: AskNode;
  topics: CompiledTopic[];
  /** said when nothing the player said matched a topic */
  notUnderstood: string[];
}

/** End positions reachable by matching `node` against `words` from `start`. */
function ends(node: AskNode, words: readonly string[], start: number): Set<number> {
  switch (node.kind) {
    case 'word':
      return new Set(words[start] === node.word ? [start + 1] : []);
    case 'opt':
      return new Set([start, ...ends(node.item, words, start)]);
    case 'alt': {
      const out = new Set<number>();
      for (const o of node.options) for (const e of ends(o, words, start)) out.add(e);
      return out;
    }
    case 'seq': {
      let at = new Set([start]);
      for (const item of node.items) {
        const next = new Set<number>();
        for (const s of at) for (const e of ends(item, words, s)) next.add(e);
        if (next.size === 0) return next;
        at = next;
      }
      return at;
    }
  }
}

/** True when the whole of `words` is one way of saying `node`. */
export function matchesAll(node: AskNode, words: readonly string[]): boolean {
  return ends(node, words, 0).has(words.length);
}

/** Recogniser words → cleaned word list: alternate pronunciations ("with(2)") and fillers dropped. */
export function cleanHypothesis(text: string): string[] {
  return text
    .toLowerCase()
    .split(/\s+/)
    .map((w) => w.replace(/\(\d+\)$/, ''))
    .filter((w) => w && !w.startsWith('<') && !w.startsWith('[') && !w.startsWith('ph_'));
}

/** The topic `words` ask about (lead-in and closing words allowed around the ask), or undefined. */
export function matchTopic(compiled: CompiledTopics, words: readonly string[]): CompiledTopic | undefined {
  if (words.length === 0) return undefined;
  for (const topic of compiled.topics) {
    const ask: AskNode = { kind: 'seq', items: [{ kind: 'opt', item: compiled.lead }, { kind: 'alt', options: topic.asks }, { kind: 'opt', item: compiled.tail }] };
    if (matchesAll(ask, words)) return topic;
  }
  return undefined;
}

/** One session's answers: each topic's answers in order (round again after the last), and "didn't catch that". */
export class TopicAnswers {
  private readonly next = new Map<string, number>();
  private nextNotUnderstood = 0;

  constructor(readonly compiled: CompiledTopics) {}

  answer(topic: CompiledTopic): string {
    const i = this.next.get(topic.id) ?? 0;
    this.next.set(topic.id, (i + 1) % topic.answers.length);
    return topic.answers[i]!;
  }

  notUnderstood(): string {
    const lines = this.compiled.notUnderstood;
    const line = lines[this.nextNotUnderstood % lines.length]!;
    this.nextNotUnderstood = (this.nextNotUnderstood + 1) % lines.length;
    return line;
  }

  /** Every line this NPC may answer with: what to synthesise ahead of time. */
  all(): string[] {
    return [...new Set([...this.compiled.notUnderstood, ...this.compiled.topics.flatMap((t) => t.answers)])];
  }
}
