// `parley sheets check` and `parley sheets prompt`, run in-process through run(), and once through bin/parley.mjs.
import { afterAll, describe, expect, it } from 'vitest';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { run } from '../../server/cli/main.ts';
import { CAST_DIR, REPO, tempDir, testTokenizerPath } from './helpers.ts';

const tmp = tempDir();
afterAll(tmp.cleanup);
const CAST = ['alex.yaml', 'ayelen.yaml', 'okafor.yaml', 'vance.yaml'].map((f) => path.join('character-sheets', f));

async function cli(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(argv, { out: (l) => out.push(l), err: (l) => err.push(l), env, cwd: REPO });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** A copy of alex.yaml with three mistakes, in its own folder. */
function brokenCopy(): string {
  const file = path.join(tmp.dir, 'alex.yaml');
  copyFileSync(path.join(CAST_DIR, 'alex.yaml'), file);
  const text = readFileSync(file, 'utf8');
  writeFileSync(file, text.replace('voice: NATM1', 'voice: NATM9').replace('  speaking_style:', '  speakingStyle:').replace(/  greeting: .*\n/, ''));
  return file;
}

describe('parley sheets check', () => {
  it('passes on the sample cast', async () => {
    const r = await cli(['sheets', 'check', ...CAST]);
    expect(r.code).toBe(0);
    for (const f of CAST) expect(r.out).toContain(`ok    ${f}`);
    expect(r.out).toMatch(/4 sheets checked: 4 ok \(tokens: estimate\)$/);
  });

  it('checks the sheet folder when given no files', async () => {
    const r = await cli(['sheets', 'check']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/4 sheets checked: 4 ok/);
  });

  it('fails on a broken copy, listing every error as file:line:col', async () => {
    const file = brokenCopy();
    const r = await cli(['sheets', 'check', file, ...CAST]);
    expect(r.code).toBe(1);
    const errors = r.out.split('\n').filter((l) => l.includes(' error: '));
    expect(errors).toHaveLength(3);
    expect(errors[0]).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:6:8 error: unknown voice "NATM9" \\(hint: did you mean NATM`));
    expect(errors[1]).toMatch(/:15:3 error: unknown field "speakingStyle" in persona \(hint: did you mean "speaking_style"\?\)$/);
    expect(errors[2]).toMatch(/:26:1 error: missing field "greeting" in rehearsal/);
    expect(r.out).toMatch(/5 sheets checked: 4 ok, 1 invalid, 3 errors/);
  });

  it('counts exactly with --tokenizer, and honours --budget', async () => {
    const tok = await testTokenizerPath();
    const exact = await cli(['sheets', 'check', '--tokenizer', tok, ...CAST]);
    expect(exact.code).toBe(0);
    expect(exact.out).toMatch(/\(tokens: exact \(test-llama-32k\.model\)\)$/);
    const tight = await cli(['sheets', 'check', '--budget=50', CAST[0]!]);
    expect(tight.code).toBe(1);
    expect(tight.out).toMatch(/character-sheets\/alex\.yaml:\d+:1 error: prompt is over budget: \d+ tokens \(estimate\) > budget 50/);
    const env = await cli(['sheets', 'check', CAST[0]!], { PARLEY_PROMPT_BUDGET: '50' });
    expect(env.code).toBe(1);
  });

  it('usage and setup mistakes exit 2 with a message, not a stack trace', async () => {
    expect((await cli(['sheets', 'check', '--budget', 'lots'])).err).toMatch(/budget must be a positive whole number/);
    expect((await cli(['sheets', 'check', '--tokenizer', '/nonexistent.model'])).code).toBe(2);
    expect((await cli(['sheets', 'frobnicate'])).err).toMatch(/unknown command "sheets frobnicate"/);
    expect((await cli(['sheets', 'check', '--verbose'])).err).toMatch(/unknown option --verbose/);
    expect((await cli(['dance'])).code).toBe(2);
    expect((await cli(['help'])).out).toMatch(/parley sheets check/);
  });
});

describe('parley sheets prompt', () => {
  it('shows the compiled prompt, token count, voice and start-up steps', async () => {
    const r = await cli(['sheets', 'prompt', 'alex']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Alex \(alex\): Astronaut/);
    expect(r.out).toMatch(/^voice     NATM1 \(built-in\)$/m);
    const tokens = Number(/^tokens    (\d+) of 200 \(estimate; "<system> … <system>" included\)$/m.exec(r.out)?.[1]);
    expect(tokens).toBeGreaterThan(50);
    expect(r.out).toMatch(new RegExp(`^start-up  ${tokens + 12} steps \\(12 silence \\+ ${tokens} prompt\\) = [\\d.]+ s at 80 ms a step, plus the built-in voice prompt$`, 'm'));
    expect(r.out).toMatch(/^hearing   hears players within 6 m; heard up to 14 m$/m);
    // the prompt is the paragraph after the header; the rehearsal engine's topic grammar follows it
    const paragraphs = r.out.split('\n\n');
    expect(paragraphs[1]).toMatch(/^You are an astronaut on a Mars mission\. Your name is Alex\./);
    expect(paragraphs[2]).toMatch(/^topics \(rehearsal engine\): reactor, coolant, time-left, what-to-do/);
    expect(r.out).toMatch(/^#JSGF V1\.0;$/m);
  });

  it('takes a file path too, prints JSON with --json, and lists errors for an invalid sheet', async () => {
    const json = await cli(['sheets', 'prompt', '--json', 'character-sheets/ayelen.yaml']);
    expect(json.code).toBe(0);
    const sheet = JSON.parse(json.out);
    expect(sheet.persona.textPrompt).toMatch(/^You work for CitySan Services/);
    expect(sheet.persona.voice).toEqual({ kind: 'builtin', id: 'NATF2' });

    const bad = await cli(['sheets', 'prompt', brokenCopy()]);
    expect(bad.code).toBe(1);
    expect(bad.out.split('\n')).toHaveLength(3);
    expect((await cli(['sheets', 'prompt', 'hal'])).out).toMatch(/no character sheet with id "hal" \(hint: known ids: alex, ayelen, okafor, vance\)/);
  });
});

describe('bin/parley.mjs', () => {
  it('runs the TypeScript CLI through tsx and sets the exit code', async () => {
    const exec = promisify(execFile);
    const ok = await exec(process.execPath, ['bin/parley.mjs', 'sheets', 'check', ...CAST], { cwd: REPO });
    expect(ok.stdout).toMatch(/4 sheets checked: 4 ok/);
    const failed = await exec(process.execPath, ['bin/parley.mjs', 'sheets', 'check', brokenCopy()], { cwd: REPO }).then(
      () => ({ code: 0, stdout: '' }),
      (e: { code: number; stdout: string }) => e,
    );
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/unknown voice "NATM9"/);
  });
});
