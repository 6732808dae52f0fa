// Every validation error an author can hit: each reported with file, line, column, a message and (mostly) a hint.
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { compileSheetFile, type CompileResult } from '../../server/sheets/compile.ts';
import { estimateCounter, estimateTokens } from '../../server/persona/tokens.ts';
import { wrapWithSystemTags } from '../../server/persona/prompt.ts';
import { formatIssue, type SheetIssue } from '../../server/sheets/issues.ts';
import { tempDir, VALID_SHEET, writeSheet, writeWav } from './helpers.ts';

const tmp = tempDir();
afterAll(tmp.cleanup);

let n = 0;
/** Compile `text` as <dir>/<name> (a fresh subfolder each time, so names can repeat). */
function compileText(text: string, name = 'probe.yaml', budgetTokens?: number): CompileResult & { file: string } {
  const dir = path.join(tmp.dir, String(n++));
  mkdirSync(dir);
  const file = writeSheet(dir, name, text);
  return { ...compileSheetFile(file, { counter: estimateCounter, budgetTokens }), file };
}
const edit = (from: string, to: string) => {
  expect(VALID_SHEET).toContain(from);
  return VALID_SHEET.replace(from, to);
};
function only(r: CompileResult): SheetIssue {
  expect(r.issues.map((i) => formatIssue(i))).toHaveLength(1);
  expect(r.sheet).toBeUndefined();
  return r.issues[0]!;
}

describe('sheet validation', () => {
  it('accepts the valid fixture', () => {
    const r = compileText(VALID_SHEET);
    expect(r.issues).toEqual([]);
    expect(r.sheet!.persona.textPrompt).toBe('You are a test subject. Your name is Probe. You are waiting in a small room.');
    expect(r.sheet!.hearing).toEqual({ hearingRadius: 6, audibleRadius: 12 });
  });

  it('unknown field: at its key, with a did-you-mean hint', () => {
    const r = compileText(edit('  situation:', '  speakingStyle: You mumble.\n  situation:'));
    const i = only(r);
    expect(i).toMatchObject({ file: r.file, line: 7, column: 3 });
    expect(i.message).toBe('unknown field "speakingStyle" in persona');
    expect(i.hint).toBe('did you mean "speaking_style"?');

    const top = only(compileText(`${VALID_SHEET}mood: grim\n`));
    expect(top).toMatchObject({ line: 13, column: 1, message: 'unknown field "mood"' });
    expect(top.hint).toMatch(/^allowed here: id, name, role, voice/);
  });

  it('missing field: at the map that lacks it, with an example', () => {
    const root = only(compileText(edit('voice: NATF0\n', '')));
    expect(root).toMatchObject({ line: 1, column: 1, message: 'missing field "voice"' });
    expect(root.hint).toMatch(/voice: NATF2/);

    const nested = only(compileText(edit('  after_interruption: Go on.\n', '')));
    expect(nested).toMatchObject({ line: 8, column: 1, message: 'missing field "after_interruption" in rehearsal' });
  });

  it('wrong types: at the value', () => {
    const name = only(compileText(edit('name: Probe', 'name: 42')));
    expect(name).toMatchObject({ line: 2, column: 7, message: 'name must be text, not a whole number', hint: 'put the value in quotes' });

    const lines = only(compileText(edit('  lines: [One., Two.]', '  lines: One.')));
    expect(lines).toMatchObject({ line: 10, column: 10, message: 'rehearsal.lines must be a list, not text' });

    const radius = only(compileText(`${VALID_SHEET}hearing:\n  hearing_radius: six\n`));
    expect(radius).toMatchObject({ line: 14, column: 19, message: 'hearing.hearing_radius must be a number, not text' });
    expect(radius.hint).toMatch(/metres/);

    const item = only(compileText(edit('  backchannels: [mm-hm]', '  backchannels: [mm-hm, 7]')));
    expect(item).toMatchObject({ line: 11, column: 25, message: 'rehearsal.backchannels[1] must be text, not a whole number' });

    const knows = only(compileText(edit('  situation: You are waiting in a small room.', '  knows:\n    fact: The door is locked.')));
    expect(knows).toMatchObject({ line: 8, column: 5, message: 'persona.knows must be a sentence or a list of sentences, not a group of fields' });
  });

  it('unknown voice: at the value, suggesting the nearest voice', () => {
    const i = only(compileText(edit('voice: NATF0', 'voice: natf2')));
    expect(i).toMatchObject({ line: 4, column: 8, message: 'unknown voice "natf2"' });
    expect(i.hint).toMatch(/^did you mean NATF2\?/);
    expect(only(compileText(edit('voice: NATF0', 'voice: Morgan Freeman'))).hint).toMatch(/NATF0–NATF3, NATM0–NATM3, VARF0–VARF4, VARM0–VARM4/);
  });

  it('missing WAV: at the voice, naming where it looked', () => {
    const r = compileText(edit('voice: NATF0', 'voice: voices/probe.wav'));
    const i = only(r);
    expect(i).toMatchObject({ line: 4, column: 8 });
    expect(i.message).toBe(`voice file not found: voices/probe.wav (looked for ${path.join(path.dirname(r.file), 'voices/probe.wav')})`);
    expect(i.hint).toMatch(/relative to the sheet/);
  });

  it('a WAV that is not audio is refused; a real one compiles with its start-up frames', () => {
    const dir = path.join(tmp.dir, 'wav');
    mkdirSync(path.join(dir, 'voices'), { recursive: true });
    writeFileSync(path.join(dir, 'voices', 'junk.wav'), 'this is not audio');
    const junk = compileSheetFile(writeSheet(dir, 'probe.yaml', edit('voice: NATF0', 'voice: voices/junk.wav')), { counter: estimateCounter });
    expect(junk.issues[0]).toMatchObject({ line: 4, column: 8, message: 'voice file voices/junk.wav cannot be used: not a WAV file (no RIFF/WAVE header)' });

    writeWav(path.join(dir, 'voices', 'probe.wav'), 2.0);
    const ok = compileSheetFile(writeSheet(dir, 'probe.yaml', edit('voice: NATF0', 'voice: voices/probe.wav')), { counter: estimateCounter });
    expect(ok.issues).toEqual([]);
    expect(ok.sheet!.persona.voice).toEqual({ kind: 'wav', path: path.join(dir, 'voices', 'probe.wav') });
    expect(ok.sheet!.startup.voiceSteps).toBe(25); // 2 s × 12.5 frames/s
    expect(ok.sheet!.startupSteps).toBe(25 + 12 + ok.sheet!.tokens.count);
    expect(ok.dependencies).toContain(path.join(dir, 'voices', 'probe.wav'));
  });

  it('empty persona: one clear error at the persona key, whatever form the emptiness takes', () => {
    for (const empty of ['persona:\n', 'persona: {}\n', 'persona:\n  background: ""\n  situation: "  "\n']) {
      const text = VALID_SHEET.replace(/persona:\n(  .*\n)+/, empty);
      const i = only(compileText(text));
      expect(i).toMatchObject({ line: 5, column: 1, message: 'persona is empty' });
      expect(i.hint).toMatch(/background/);
    }
    // one blank field beside real ones is that field's problem, not an empty persona
    const blank = only(compileText(edit('  situation: You are waiting in a small room.', '  situation: ""')));
    expect(blank).toMatchObject({ line: 7, column: 14, message: 'persona.situation is empty' });
  });

  it('over budget: at the persona key, with the count, the label and the budget', () => {
    const r = compileText(VALID_SHEET, 'probe.yaml', 10);
    const i = only(r);
    const expected = estimateTokens(wrapWithSystemTags('You are a test subject. Your name is Probe. You are waiting in a small room.'));
    expect(i).toMatchObject({ line: 5, column: 1, message: `prompt is over budget: ${expected} tokens (estimate) > budget 10` });
    expect(i.hint).toMatch(/largest: (situation|background) \d+/);
    expect(i.hint).toMatch(/80 ms/);
    expect(compileText(VALID_SHEET, 'probe.yaml', expected).issues).toEqual([]); // exactly at budget is fine
  });

  it('YAML syntax errors: at the offending spot', () => {
    const bad = only(compileText(edit('  situation: You are waiting in a small room.', ' situation: You are waiting in a small room.')));
    expect(bad.message).toMatch(/^YAML: /);
    expect(bad.line).toBe(7);

    const dup = only(compileText(edit('role: Test subject', 'role: Test subject\nrole: Again')));
    expect(dup).toMatchObject({ line: 4, column: 1 });
    expect(dup.message).toMatch(/^YAML: .*unique/);
    expect(dup.hint).toMatch(/once/);
  });

  it('id must match the file name; ids have a safe form', () => {
    const i = only(compileText(VALID_SHEET, 'other.yaml'));
    expect(i).toMatchObject({ line: 1, column: 5, message: 'id "probe" does not match the file name "other.yaml"' });
    expect(i.hint).toMatch(/rename the file to probe\.yaml/);
    const form = only(compileText(edit('id: probe', 'id: ../Probe'), 'probe.yaml'));
    expect(form).toMatchObject({ line: 1, column: 5, message: 'id "../Probe" is not a valid id' });
  });

  it('persona written as the character or about it, instead of to it', () => {
    const first = only(compileText(edit('  background: You are a test subject.', '  background: I am a test subject.')));
    expect(first).toMatchObject({ line: 6, column: 15, message: 'persona.background is written in the first person ("I am a test subject.")' });
    const third = only(compileText(edit('  situation: You are waiting in a small room.', '  situation:\n    - You are in a small room.\n    - Probe is waiting.')));
    expect(third).toMatchObject({ line: 9, column: 7, message: 'persona.situation describes Probe in the third person ("Probe is waiting.")' });
  });

  it('lists every error at once, in file order', () => {
    const r = compileText(edit('voice: NATF0', 'voice: NATF9\nmood: grim').replace('name: Probe', 'name: 42').replace('  greeting: Hello.\n', ''));
    expect(r.issues.map((i) => [i.line, i.message])).toEqual([
      [2, 'name must be text, not a whole number'],
      [4, 'unknown voice "NATF9"'],
      [5, 'unknown field "mood"'],
      [9, 'missing field "greeting" in rehearsal'],
    ]);
  });

  it('unreadable or misnamed files, and empty sheets', () => {
    const missing = compileSheetFile(path.join(tmp.dir, 'nope.yaml'), { counter: estimateCounter });
    expect(missing.issues).toEqual([{ file: path.join(tmp.dir, 'nope.yaml'), line: 1, column: 1, message: 'file not found' }]);
    expect(only(compileText(VALID_SHEET, 'probe.json')).message).toBe('a character sheet must be a .yaml file');
    expect(only(compileText('# nothing yet\n')).message).toBe('the sheet is empty');
    expect(only(compileText('- a\n- b\n')).message).toBe('the sheet must be a group of fields, not a list');
  });

  it('formats issues as file:line:col error: message (hint: …)', () => {
    const i: SheetIssue = { file: path.join(process.cwd(), 'character-sheets/alex.yaml'), line: 12, column: 5, message: 'bad', hint: 'fix it' };
    expect(formatIssue(i)).toBe('character-sheets/alex.yaml:12:5 error: bad (hint: fix it)');
    expect(formatIssue({ ...i, hint: undefined })).toBe('character-sheets/alex.yaml:12:5 error: bad');
  });
});
