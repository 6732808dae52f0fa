/**
 * What a rehearsal NPC says: its character sheet's rehearsal lines, checked and cleaned, or generic lines when
 * the sheet has none; and the seeded order it says them in.
 */
import type { Persona, RehearsalLines } from '../../persona/persona.ts';
import { cleanLine } from './tts.ts';
import type { UtteranceKind } from './turn-taking.ts';

export function genericLines(name: string): RehearsalLines {
  const who = cleanLine(name) || 'a stranger';
  return {
    greeting: `Hello there. I'm ${who}.`,
    lines: [
      'I hear you. Tell me more about that.',
      'That is interesting. What happened next?',
      'I have been thinking about the same thing.',
      'Hmm, I am not sure I follow. Go on.',
    ],
    backchannels: ['Uh-huh.', 'I see.', 'Right.', 'Hmm-hmm.'],
    afterInterruption: 'Oh, sorry. Go ahead.',
  };
}

function strings(x: unknown): string[] {
  return Array.isArray(x) ? x.filter((s): s is string => typeof s === 'string').map(cleanLine).filter(Boolean) : [];
}

/** The persona's lines with anything unusable replaced by the generic ones. */
export function linesFor(persona: Persona): RehearsalLines {
  const generic = genericLines(persona.name);
  const r = (persona.rehearsal ?? {}) as Partial<RehearsalLines>;
  const one = (s: unknown, fallback: string) => (typeof s === 'string' && cleanLine(s)) || fallback;
  const lines = strings(r.lines);
  const backchannels = strings(r.backchannels);
  return {
    greeting: one(r.greeting, generic.greeting),
    lines: lines.length ? lines : generic.lines,
    backchannels: backchannels.length ? backchannels : generic.backchannels,
    afterInterruption: one(r.afterInterruption, generic.afterInterruption),
  };
}

export { seededRandom } from '../../seeded-random.ts';

/** Picks the next thing to say: lines in a seeded shuffle (each once per round), backchannels never twice running. */
export class LinePicker {
  private order: number[] = [];
  private lastBackchannel = -1;
  private lastLine = -1;

  constructor(readonly lines: RehearsalLines, private readonly random: () => number) {}

  next(kind: UtteranceKind): string {
    switch (kind) {
      case 'greeting':
        return this.lines.greeting;
      case 'afterInterruption':
        return this.lines.afterInterruption;
      case 'backchannel': {
        const n = this.lines.backchannels.length;
        let i = Math.floor(this.random() * n);
        if (n > 1 && i === this.lastBackchannel) i = (i + 1) % n;
        this.lastBackchannel = i;
        return this.lines.backchannels[i]!;
      }
      case 'line': {
        if (this.order.length === 0) this.order = this.shuffled(this.lines.lines.length);
        this.lastLine = this.order.shift()!;
        return this.lines.lines[this.lastLine]!;
      }
    }
  }

  /** The last line was cut off: it comes again at the next turn. */
  putBackLine() {
    if (this.lastLine >= 0) this.order.unshift(this.lastLine);
    this.lastLine = -1;
  }

  /** Every distinct text this persona may say, greeting first: what to synthesise ahead of time. */
  all(): string[] {
    const l = this.lines;
    return [...new Set([l.greeting, ...l.backchannels, l.afterInterruption, ...l.lines])];
  }

  private shuffled(n: number): number[] {
    const a = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }
}
