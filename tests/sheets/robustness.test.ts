// Bad input gets a clear error and never an exception: mangled copies of a real sheet, and odd YAML values.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { compileSheetSource } from '../../server/sheets/compile.ts';
import { estimateCounter } from '../../server/persona/tokens.ts';
import { CAST_DIR } from './helpers.ts';

/** Small deterministic PRNG so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const SOURCE = readFileSync(path.join(CAST_DIR, 'alex.yaml'), 'utf8');
const FILE = path.join(CAST_DIR, 'alex.yaml');

function mangle(text: string, rand: () => number): string {
  const chars = [...text];
  const edits = 1 + Math.floor(rand() * 4);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(rand() * chars.length);
    const kind = rand();
    if (kind < 0.4) chars.splice(at, 1 + Math.floor(rand() * 8));
    else if (kind < 0.7) chars.splice(at, 0, ...[':', '-', ' ', '\n', '"', '[', '{', '\t', '&a', '*a', '!!int', '9'][Math.floor(rand() * 12)]!);
    else {
      // drop or duplicate a whole line
      const lines = chars.join('').split('\n');
      const l = Math.floor(rand() * lines.length);
      if (rand() < 0.5) lines.splice(l, 1);
      else lines.splice(l, 0, lines[l]!);
      chars.splice(0, chars.length, ...lines.join('\n'));
    }
  }
  return chars.join('');
}

describe('robustness', () => {
  it('never throws on 400 mangled copies of alex.yaml; every issue has a real position and a message', () => {
    const rand = rng(20260115);
    let invalid = 0;
    for (let i = 0; i < 400; i++) {
      const text = mangle(SOURCE, rand);
      const lineCount = text.split('\n').length;
      const r = compileSheetSource(FILE, text, { counter: estimateCounter });
      if (r.sheet) {
        expect(r.issues).toEqual([]);
        continue;
      }
      invalid++;
      expect(r.issues.length, text).toBeGreaterThan(0);
      for (const issue of r.issues) {
        expect(issue.file).toBe(FILE);
        expect(issue.line).toBeGreaterThanOrEqual(1);
        expect(issue.line).toBeLessThanOrEqual(lineCount + 1);
        expect(issue.column).toBeGreaterThanOrEqual(1);
        expect(issue.message.length).toBeGreaterThan(5);
      }
    }
    expect(invalid).toBeGreaterThan(100); // the mangling really does break sheets
  });

  it('odd but legal YAML: anchors, explicit tags, huge numbers, a bare string document', () => {
    const odd = [
      'just a sentence',
      '42',
      SOURCE.replace('name: Alex', 'name: !!int 7'),
      SOURCE.replace('  hearing_radius: 6', '  hearing_radius: 1e400'),
      SOURCE.replace('seed: 1701', 'seed: -3'),
      SOURCE.replace('  backchannels: [mm-hm, right, go on, yeah, okay]', '  backchannels: &b [mm-hm]\n  extra: *b'),
      'a: &x [*x]',
      '',
    ];
    for (const text of odd) {
      const r = compileSheetSource(FILE, text, { counter: estimateCounter });
      expect(r.sheet, text).toBeUndefined();
      expect(r.issues.length, text).toBeGreaterThan(0);
    }
  });
});
