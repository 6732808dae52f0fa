// Topics in character sheets (issue 21): the ask syntax, dictionary checks with positions and suggestions, the
// compiled grammar and matcher, and `parley sheets prompt` showing the grammar.
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../server/cli/main.ts';
import { matchTopic } from '../../server/engines/rehearsal/topic-matcher.ts';
import { compileSheetFile } from '../../server/sheets/compile.ts';
import { AskSyntaxError, compileTopics, parseAsk, suggestWord, toJsgf } from '../../server/sheets/topics.ts';
import { estimateCounter } from '../../server/persona/tokens.ts';
import { REPO, VALID_SHEET, tempDir, writeSheet } from './helpers.ts';

const tmp = tempDir();
afterAll(tmp.cleanup);

const withTopics = (topics: string) => `${VALID_SHEET}${topics}`;
// VALID_SHEET has 12 lines; the topics start on line 13
const TOPICS = `  topics:
    - id: mill
      asks:
        - where is the (old | big) mill
        - "[tell me] about the mill"
      answers:
        - Past the bridge, on the left.
  not_understood:
    - Sorry, what was that?
  small_talk:
    thanks: [You're welcome.]
`;

describe('ask syntax', () => {
  it('reads words, (alternatives) and [optional words] into a tree and back to JSGF', () => {
    const node = parseAsk("what's (wrong | going on) with the (reactor | core) [right now]");
    expect(toJsgf(node)).toBe("what's (wrong | going on) with the (reactor | core) [right now]");
    expect(toJsgf(parseAsk('Where IS it | where is that'))).toBe('where is it | where is that');
  });

  it('reports where an ask is malformed', () => {
    const cases: [string, number, RegExp][] = [
      ['what (is', 5, /never closed/],
      ['what ]', 5, /unexpected "]"/],
      ['open panel r-7', 11, /not a word/],
      ['a | | b', 4, /nothing before "\|"/],
      ['()', 1, /nothing before "\)"/],
    ];
    for (const [text, offset, message] of cases) {
      let err: unknown;
      try {
        parseAsk(text);
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(AskSyntaxError);
      expect((err as AskSyntaxError).offset, text).toBe(offset);
      expect((err as AskSyntaxError).message, text).toMatch(message);
    }
  });

  it('suggests a dictionary spelling, preferring words the sheet already uses', () => {
    expect(suggestWord('reacter', new Set(['reactor']))).toBe('reactor');
    expect(suggestWord('colant')).toBe('coolant');
    expect(suggestWord('navigaton')).toBe('navigation');
  });
});

describe('topics in a sheet', () => {
  it('compiles into the persona: grammar, asks, answers, small talk and not-understood lines', () => {
    const r = compileSheetFile(writeSheet(tmp.dir, 'probe.yaml', withTopics(TOPICS)), { counter: estimateCounter });
    expect(r.issues).toEqual([]);
    const topics = (r.sheet!.persona.rehearsal as unknown as { topics: ReturnType<typeof compileTopics> }).topics!;
    expect(topics.topics.map((t) => t.id)).toEqual(['mill', 'thanks']);
    expect(topics.notUnderstood).toEqual(['Sorry, what was that?']);
    expect(topics.jsgf).toMatch(/^#JSGF V1\.0;/);
    expect(topics.jsgf).toContain('where is the (old | big) mill | [tell me] about the mill');
    expect(topics.words).toContain('mill');
    expect(matchTopic(topics, ['probe', 'where', 'is', 'the', 'old', 'mill', 'please'])?.id).toBe('mill');
    expect(matchTopic(topics, ['thank', 'you'])?.id).toBe('thanks');
    expect(matchTopic(topics, ['where', 'is', 'the', 'mill'])).toBeUndefined(); // "old" or "big" is required
    expect(matchTopic(topics, [])).toBeUndefined();
  });

  it('a sheet without topics compiles as before', () => {
    const r = compileSheetFile(writeSheet(tmp.dir, 'probe.yaml', VALID_SHEET), { counter: estimateCounter });
    expect(r.issues).toEqual([]);
    expect((r.sheet!.persona.rehearsal as unknown as Record<string, unknown>).topics).toBeUndefined();
  });

  it('reports words the recogniser cannot hear at their line and column, with a suggestion', () => {
    const text = withTopics(TOPICS.replace('where is the (old | big) mill', 'where is the (old | big) milll').replace('[tell me] about', '[tell me] abuot'));
    const r = compileSheetFile(writeSheet(tmp.dir, 'probe.yaml', text), { counter: estimateCounter });
    expect(r.sheet).toBeUndefined();
    const milll = r.issues.find((i) => i.message.includes('"milll"'))!;
    expect(milll).toMatchObject({ line: 16, column: 36 });
    expect(milll.message).toMatch(/not in the recogniser's dictionary/);
    expect(milll.hint).toMatch(/did you mean "mill"\?/);
    // a quoted ask: the column counts the opening quote
    const abuot = r.issues.find((i) => i.message.includes('"abuot"'))!;
    expect(abuot).toMatchObject({ line: 17, column: 22 });
    expect(abuot.hint).toMatch(/did you mean "\w+"\?/);
  });

  it('reports syntax errors, duplicate ids and schema mistakes in topics', () => {
    const second = (answersKey: string) =>
      TOPICS.replace('where is the (old | big) mill', 'where is the (old | big mill').replace(
        '  not_understood:',
        `    - id: mill\n      asks: [the mill]\n      ${answersKey}: [Here.]\n  not_understood:`,
      );
    const typo = compileSheetFile(writeSheet(tmp.dir, 'probe.yaml', withTopics(second('answer'))), { counter: estimateCounter });
    const m1 = typo.issues.map((i) => `${i.line}:${i.column} ${i.message}`);
    expect(m1).toContain('22:7 unknown field "answer" in rehearsal.topics[1]');
    const again = compileSheetFile(writeSheet(tmp.dir, 'probe.yaml', withTopics(second('answers'))), { counter: estimateCounter });
    const m2 = again.issues.map((i) => `${i.line}:${i.column} ${i.message}`);
    expect(m2, m2.join('; ')).toContain('16:24 ask: "(" is never closed');
    expect(m2.some((m) => /^20:\d+ topic id "mill" is used twice/.test(m))).toBe(true);
  });

  it('`parley sheets prompt` shows the compiled grammar; `sheets check` passes the cast with topics', async () => {
    const out: string[] = [];
    const code = await run(['sheets', 'prompt', 'alex'], { out: (l) => out.push(l), err: () => {}, env: {}, cwd: REPO });
    expect(code).toBe(0);
    const text = out.join('\n');
    expect(text).toMatch(/topics \(rehearsal engine\): reactor, coolant, time-left, what-to-do/);
    expect(text).toContain('public <ask> =');
    const check: string[] = [];
    expect(await run(['sheets', 'check'], { out: (l) => check.push(l), err: () => {}, env: {}, cwd: REPO })).toBe(0);
  });
});
