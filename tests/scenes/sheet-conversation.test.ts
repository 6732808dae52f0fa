// The sheet's `conversation` block (docs/scenes.md): interruption policy, who it hears among NPCs, its turns in
// an NPC exchange. Sheets without it keep today's behaviour.
import { afterAll, describe, expect, it } from 'vitest';
import { compileSheetFile } from '../../server/sheets/compile.ts';
import { estimateCounter } from '../../server/persona/tokens.ts';
import { interruptionPolicyOf } from '../../server/persona/interruption.ts';
import { CAST_DIR, VALID_SHEET, tempDir, writeSheet } from '../sheets/helpers.ts';
import path from 'node:path';

const tmp = tempDir();
afterAll(tmp.cleanup);
const compile = (text: string) => compileSheetFile(writeSheet(tmp.dir, 'probe.yaml', text), { counter: estimateCounter });

describe('sheet conversation block', () => {
  it('defaults: yield, hears no NPCs, 4 NPC turns; the persona carries no policy', () => {
    const r = compile(VALID_SHEET);
    expect(r.issues).toEqual([]);
    expect(r.sheet!.conversation).toEqual({ hearsNpcs: false, npcTurns: 4 });
    expect(r.sheet!.persona.whenInterrupted).toBeUndefined();
    expect(interruptionPolicyOf(r.sheet!.persona)).toBe('yield');
  });

  it('compiles the policy into the persona and the NPC hearing into the sheet', () => {
    const r = compile(`${VALID_SHEET}conversation:\n  when_interrupted: finish_phrase\n  hears_npcs: [vance, alex]\n  npc_turns: 2\n`);
    expect(r.issues).toEqual([]);
    expect(r.sheet!.persona.whenInterrupted).toBe('finish_phrase');
    expect(r.sheet!.conversation).toEqual({ hearsNpcs: ['vance', 'alex'], npcTurns: 2 });
  });

  it('refuses an unknown policy and bad values with the line they are on', () => {
    const r = compile(`${VALID_SHEET}conversation:\n  when_interrupted: shout\n  hears_npcs: sometimes\n  npc_turns: -1\n`);
    expect(r.sheet).toBeUndefined();
    const lines = r.issues.map((i) => i.line);
    const first = VALID_SHEET.split('\n').length; // 'conversation:' is on this line
    expect(lines).toEqual(expect.arrayContaining([first + 1, first + 2, first + 3]));
    expect(r.issues.some((i) => /yield|finish_phrase/.test(`${i.message} ${i.hint ?? ''}`))).toBe(true);
  });

  it('every sheet in the cast is still valid', () => {
    for (const f of ['alex.yaml', 'okafor.yaml', 'vance.yaml', 'ayelen.yaml']) {
      expect(compileSheetFile(path.join(CAST_DIR, f), { counter: estimateCounter }).issues, f).toEqual([]);
    }
  });
});
