// The sample cast: every sheet in character-sheets/ compiles, reads like a PersonaPlex prompt, and fits the budget.
import { beforeAll, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { compileSheetFile, DEFAULT_BUDGET_TOKENS, type CompiledSheet } from '../../server/sheets/compile.ts';
import { estimateCounter, loadSentencePieceCounter, type TokenCounter } from '../../server/persona/tokens.ts';
import { wrapWithSystemTags } from '../../server/persona/prompt.ts';
import { formatIssue } from '../../server/sheets/issues.ts';
import { CAST_DIR, testTokenizerPath } from './helpers.ts';

const files = readdirSync(CAST_DIR).filter((f) => f.endsWith('.yaml')).sort();
let exact: TokenCounter;

function compile(name: string, counter: TokenCounter): CompiledSheet {
  const r = compileSheetFile(path.join(CAST_DIR, name), { counter });
  expect(r.issues.map((i) => formatIssue(i))).toEqual([]);
  return r.sheet!;
}

beforeAll(async () => {
  exact = await loadSentencePieceCounter(await testTokenizerPath());
});

describe('sample cast', () => {
  it('has the Mars crew and the CitySan example', () => {
    expect(files).toEqual(expect.arrayContaining(['alex.yaml', 'ayelen.yaml', 'okafor.yaml', 'vance.yaml']));
  });

  it.each(files)('%s compiles within budget, by estimate and by exact count', (name) => {
    const est = compile(name, estimateCounter);
    const ex = compile(name, exact);
    expect(est.persona.textPrompt).toBe(ex.persona.textPrompt);
    expect(est.tokens).toMatchObject({ exact: false, label: 'estimate', budget: DEFAULT_BUDGET_TOKENS });
    expect(ex.tokens.exact).toBe(true);
    expect(ex.tokens.count).toBe(exact.count(wrapWithSystemTags(ex.persona.textPrompt)));
    expect(est.tokens.count).toBeGreaterThanOrEqual(ex.tokens.count); // the estimate errs high
    expect(est.tokens.count).toBeLessThanOrEqual(DEFAULT_BUDGET_TOKENS);
    expect(ex.startupSteps).toBe(ex.tokens.count + 12);
  });

  it.each(files)('%s is written to the character: second person, name after the opening sentence', (name) => {
    const s = compile(name, estimateCounter);
    const p = s.persona.textPrompt;
    expect(p).toMatch(/^You (are|work)\b/);
    expect(p).toContain(`Your name is ${s.name}.`);
    expect(p.indexOf(`Your name is ${s.name}.`)).toBe(p.indexOf('.') + 2);
    expect(p).not.toMatch(/(^|[.!?] )(I|My|I'm)\b/);
    expect(p).not.toMatch(/\s{2,}|\n/);
    expect(p).toMatch(/\.$/);
  });

  it.each(files)('%s has rehearsal lines good to hear', (name) => {
    const r = compile(name, estimateCounter).persona.rehearsal!;
    expect(r.greeting.length).toBeGreaterThan(10);
    expect(r.lines.length).toBeGreaterThanOrEqual(4);
    expect(r.lines.length).toBeLessThanOrEqual(8);
    expect(r.backchannels.length).toBeGreaterThanOrEqual(3);
    expect(r.afterInterruption.length).toBeGreaterThan(5);
  });

  it('Alex is the astronaut from the seed article, at the failing reactor core', () => {
    const s = compile('alex.yaml', estimateCounter);
    expect(s.persona.textPrompt.startsWith(
      'You are an astronaut on a Mars mission. Your name is Alex. You are dealing with a reactor core meltdown. ' +
        'Several ship systems are failing, and continued instability will lead to catastrophic failure.',
    )).toBe(true);
    expect(s.persona.textPrompt).toContain('bypass valve');
  });

  it('Ayelen Lucero works for CitySan Services, as in the article', () => {
    const s = compile('ayelen.yaml', estimateCounter);
    expect(s.persona.textPrompt.startsWith('You work for CitySan Services, a waste management company. Your name is Ayelen Lucero.')).toBe(true);
    expect(s.persona.textPrompt).toMatch(/pickup/);
  });

  it('the crew have distinct voices and roles, and sensible hearing radii', () => {
    const crew = ['alex.yaml', 'okafor.yaml', 'vance.yaml'].map((f) => compile(f, estimateCounter));
    const voices = crew.map((s) => (s.persona.voice.kind === 'builtin' ? s.persona.voice.id : s.persona.voice.path));
    expect(new Set(voices).size).toBe(crew.length);
    expect(new Set(crew.map((s) => s.role)).size).toBe(crew.length);
    expect(crew.find((s) => s.id === 'okafor')!.persona.textPrompt).toMatch(/med bay/);
    // the commander stands with the surgeon in the med bay (scenes/mars-mission.json), away from his bridge
    expect(crew.find((s) => s.id === 'vance')!.persona.textPrompt).toMatch(/from the bridge to the med bay for a radiation check/);
    for (const s of crew) {
      expect(s.hearing.hearingRadius).toBeGreaterThan(0);
      expect(s.hearing.audibleRadius).toBeGreaterThanOrEqual(s.hearing.hearingRadius);
    }
  });

  it('compiling is deterministic', () => {
    for (const f of files) expect(compile(f, estimateCounter).persona.textPrompt).toBe(compile(f, estimateCounter).persona.textPrompt);
  });
});
