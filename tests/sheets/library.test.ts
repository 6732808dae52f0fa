// The library the room uses: an invalid sheet leaves the valid NPCs working, edits apply on the next get(),
// unknown ids and a broken tokenizer give clear errors instead of crashes.
import { afterEach, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SheetError, SheetLibrary, formatIssue } from '../../server/sheets/library.ts';
import { CAST_DIR, tempDir, testTokenizerPath, VALID_SHEET, writeSheet, writeWav } from './helpers.ts';
import { recordingLogger } from '../support/log.ts';
import { sleep } from '../support/time.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

function castCopy(): { dir: string; logs: string[]; lib: SheetLibrary } {
  const tmp = tempDir();
  cleanups.push(tmp.cleanup);
  for (const f of ['alex.yaml', 'okafor.yaml', 'vance.yaml', 'ayelen.yaml']) copyFileSync(path.join(CAST_DIR, f), path.join(tmp.dir, f));
  const { log, lines: logs } = recordingLogger();
  const lib = new SheetLibrary({ dir: tmp.dir, log });
  cleanups.push(() => lib.close());
  return { dir: tmp.dir, logs, lib };
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('SheetLibrary', () => {
  it('an invalid sheet beside valid ones: reported by checkAll, refused by get, the others keep working', () => {
    const { dir, logs, lib } = castCopy();
    writeSheet(dir, 'broken.yaml', VALID_SHEET.replace('id: probe', 'id: broken').replace('voice: NATF0', 'voice: NATF9').replace('  greeting: Hello.\n', ''));

    const all = lib.checkAll();
    expect(all.sheets.map((s) => s.id).sort()).toEqual(['alex', 'ayelen', 'okafor', 'vance']);
    expect(all.issues.map((i) => [path.basename(i.file), i.line, i.message])).toEqual([
      ['broken.yaml', 4, 'unknown voice "NATF9"'],
      ['broken.yaml', 8, 'missing field "greeting" in rehearsal'],
    ]);

    const err = thrown(() => lib.get('broken'));
    expect(err).toBeInstanceOf(SheetError);
    const e = err as SheetError;
    expect(e.issues).toHaveLength(2);
    for (const i of e.issues) expect(e.message).toContain(formatIssue(i));
    expect(e.message.split('\n')[0]).toBe('character sheet "broken" is invalid (2 errors)');
    expect(logs.join('\n')).toMatch(/sheet=broken\.yaml .*sheet is invalid; its NPC will not be placed/);

    for (const id of ['alex', 'okafor', 'vance', 'ayelen']) expect(lib.get(id).id).toBe(id);
    expect(lib.get('alex').persona.textPrompt).toMatch(/^You are an astronaut on a Mars mission\. Your name is Alex\./);
    expect(lib.get('alex').hearing).toEqual({ hearingRadius: 6, audibleRadius: 14 });
  });

  it('hot reload: an edited sheet applies to the next get(), an unchanged one is not recompiled', () => {
    const { dir, logs, lib } = castCopy();
    const first = lib.get('alex');
    expect(lib.get('alex')).toBe(first); // cached: same object, no recompile
    expect(Object.isFrozen(first.persona)).toBe(true);

    const file = path.join(dir, 'alex.yaml');
    const original = first.persona.textPrompt;
    const text = (s: string) => writeFileSync(file, s);
    const source = readFileSync(file, 'utf8');
    text(source.replace('with a dry sense of humour', 'and you hum when you work'));
    const edited = lib.get('alex');
    expect(edited.persona.textPrompt).toBe(original.replace('with a dry sense of humour', 'and you hum when you work'));
    expect(logs.some((l) => /^sheet=alex\.yaml .*sheet reloaded$/.test(l))).toBe(true);

    text(source.replace('voice: NATM1', 'voice: NATM9'));
    expect(() => lib.get('alex')).toThrow(SheetError);
    expect(lib.get('okafor').id).toBe('okafor');

    text(source);
    expect(lib.get('alex').persona.textPrompt).toBe(original);
  });

  it('with reload off, a sheet stays as first compiled (production)', () => {
    const { dir } = castCopy();
    const lib = new SheetLibrary({ dir, reload: false });
    const first = lib.get('alex');
    const file = path.join(dir, 'alex.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('voice: NATM1', 'voice: NATM2'));
    expect(lib.get('alex')).toBe(first);
    expect(new SheetLibrary({ dir }).get('alex').persona.voice).toEqual({ kind: 'builtin', id: 'NATM2' });
  });

  it('a custom WAV voice: refused while missing, used once it appears, without touching the sheet', () => {
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    writeSheet(tmp.dir, 'probe.yaml', VALID_SHEET.replace('voice: NATF0', 'voice: voices/probe.wav'));
    const lib = new SheetLibrary({ dir: tmp.dir });
    expect(() => lib.get('probe')).toThrow(/voice file not found: voices\/probe\.wav/);
    mkdirSync(path.join(tmp.dir, 'voices'));
    writeWav(path.join(tmp.dir, 'voices', 'probe.wav'), 0.8);
    const sheet = lib.get('probe');
    expect(sheet.persona.voice).toEqual({ kind: 'wav', path: path.join(tmp.dir, 'voices', 'probe.wav') });
    expect(sheet.startup.voiceSteps).toBe(10);
  });

  it('unknown, unsafe and deleted ids are SheetErrors that name the known ids', () => {
    const { dir, lib } = castCopy();
    const unknown = thrown(() => lib.get('hal')) as SheetError;
    expect(unknown).toBeInstanceOf(SheetError);
    expect(unknown.issues[0]!.message).toBe('no character sheet with id "hal"');
    expect(unknown.issues[0]!.hint).toBe('known ids: alex, ayelen, okafor, vance');
    expect(thrown(() => lib.get('../../etc/passwd'))).toBeInstanceOf(SheetError);
    expect(thrown(() => lib.get(undefined as unknown as string))).toBeInstanceOf(SheetError);

    lib.get('vance');
    rmSync(path.join(dir, 'vance.yaml'));
    expect((thrown(() => lib.get('vance')) as SheetError).issues[0]!.message).toBe('no character sheet with id "vance"');
  });

  it('a .yaml and a .yml with the same id are a duplicate', () => {
    const { dir, lib } = castCopy();
    copyFileSync(path.join(dir, 'alex.yaml'), path.join(dir, 'alex.yml'));
    expect(lib.checkAll().issues.map((i) => [path.basename(i.file), i.message])).toEqual([['alex.yml', 'duplicate sheet: alex.yaml already defines this id']]);
    expect(() => lib.get('alex')).toThrow(/defined twice/);
  });

  it('a missing folder is one issue, not a crash', () => {
    const lib = new SheetLibrary({ dir: '/nonexistent/parley-sheets' });
    expect(lib.checkAll()).toEqual({ sheets: [], issues: [{ file: '/nonexistent/parley-sheets', line: 1, column: 1, message: 'character sheet folder not found' }] });
    expect(() => lib.get('alex')).toThrow(SheetError);
  });

  it('the budget is configurable', () => {
    const lib = new SheetLibrary({ dir: CAST_DIR, budgetTokens: 60 });
    const err = thrown(() => lib.get('alex')) as SheetError;
    expect(err.issues[0]!.message).toMatch(/^prompt is over budget: \d+ tokens \(estimate\) > budget 60$/);
    expect(() => new SheetLibrary({ dir: CAST_DIR, budgetTokens: 0 })).toThrow(RangeError);
  });

  it('with a tokenizer: exact counts once ready; get() before ready says to wait; a bad file falls back to the estimate', async () => {
    const tokenizerPath = await testTokenizerPath();
    const lib = new SheetLibrary({ dir: CAST_DIR, tokenizerPath });
    expect(() => lib.get('alex')).toThrow(/await library\.ready\(\)/);
    await lib.ready();
    const alex = lib.get('alex');
    expect(alex.tokens).toMatchObject({ exact: true, label: 'exact (test-llama-32k.model)' });

    const opened = await SheetLibrary.open({ dir: CAST_DIR, tokenizerPath });
    expect(opened.get('alex').tokens.count).toBe(alex.tokens.count);
    expect(opened.get('alex').tokens.count).toBeLessThan(new SheetLibrary({ dir: CAST_DIR }).get('alex').tokens.count);

    const { log, lines: logs } = recordingLogger();
    const bad = await SheetLibrary.open({ dir: CAST_DIR, tokenizerPath: '/nonexistent/tokenizer.model', log });
    expect(bad.tokenizerError?.message).toMatch(/file not found/);
    expect(logs[0]).toMatch(/token counts are estimates/);
    expect(bad.get('alex').tokens).toMatchObject({ exact: false, label: 'estimate' });
  });

  it('watch mode compiles a saved sheet at once and logs its errors', async () => {
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    const { log, lines: logs } = recordingLogger();
    const lib = new SheetLibrary({ dir: tmp.dir, watch: true, log });
    cleanups.push(() => lib.close());
    writeSheet(tmp.dir, 'probe.yaml', VALID_SHEET.replace('name: Probe', 'name: 42'));
    const deadline = Date.now() + 5000;
    while (!logs.some((l) => /sheet=probe\.yaml .*sheet is invalid/.test(l)) && Date.now() < deadline) await sleep(50);
    expect(logs.join('\n')).toMatch(/probe\.yaml:2:7 error: name must be text, not a whole number/);
  });
});
