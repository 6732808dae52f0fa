/**
 * `parley personaplex verify` on the reference harness's export, against goldens made the way mobius makes its
 * own (generate.py: the reference LMModel on mobius' deterministic inputs; the Mimi golden is of the stand-in).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { goldenInputs, parseHexFloat, runVerify } from '../../../server/cli/personaplex-verify.ts';
import { LegacyRandomState } from '../../../server/cli/numpy-random.ts';
import { FIXTURES, writeReferenceBundle } from './bundle.ts';

let dir: string;
const golden = path.join(FIXTURES, 'ctx3000', 'golden');
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'pp-verify-'));
  await writeReferenceBundle('ctx3000', dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function verify(goldenDir: string) {
  const lines: string[] = [];
  const rc = await runVerify(['--onnx-dir', dir, '--golden-dir', goldenDir], { out: (l) => lines.push(l), err: (l) => lines.push(l), env: {}, cwd: process.cwd() });
  return { rc, text: lines.join('\n') };
}

describe('numpy legacy RandomState, as mobius builds its golden inputs', () => {
  it('gives numpy\'s numbers (values printed by numpy 1.24)', () => {
    const r = new LegacyRandomState(20240607);
    expect(Array.from({ length: 4 }, () => r.randint(0, 32000))).toEqual([24549, 19739, 6938, 8636]);
    expect(Array.from({ length: 4 }, () => r.randint(0, 2048))).toEqual([524, 570, 192, 543]);
    const g = new LegacyRandomState(1234);
    expect(Array.from({ length: 3 }, () => g.standardNormal())).toEqual([0.47143516373249306, -1.1909756947064645, 1.4327069684260973]);
    const { prev } = goldenInputs();
    expect(prev.slice(0, 4)).toEqual([28847, 1220, 537, 502]);
  });

  it('reads Python float.hex()', () => {
    expect(parseHexFloat('0x1.5c8b260000000p+1')).toBeCloseTo(2.72299, 4);
    expect(parseHexFloat('-0x1.0p-3')).toBe(-0.125);
    expect(parseHexFloat('0x0.0p+0')).toBe(0);
  });
});

describe('parley personaplex verify', () => {
  it('passes on an export that matches its golden, noting the user-codebook substeps the reference windows', async () => {
    const { rc, text } = await verify(golden);
    expect(text).toMatch(/^PASS/m);
    expect(rc).toBe(0);
    expect(text).toMatch(/ok {3}text argmax per step/);
    expect(text).toMatch(/ok {3}depformer argmax, agent codebooks/);
    expect(text).toMatch(/ok {3}Mimi encoder codes/);
  });

  it('fails and says what differs when the export does not match', async () => {
    const bad = await mkdtemp(path.join(os.tmpdir(), 'pp-golden-'));
    try {
      await cp(golden, bad, { recursive: true });
      const f = path.join(bad, 'moshi-lm-personaplex.json');
      const g = JSON.parse(await readFile(f, 'utf8'));
      g.temporal.text_argmax[2] += 1;
      g.depformer.logits0_head_hex[5] = (parseHexFloat(g.depformer.logits0_head_hex[5]) + 0.01).toString(); // not hex: must be refused
      await writeFile(f, JSON.stringify(g));
      const { rc, text } = await verify(bad);
      expect(rc).toBe(1);
      expect(text).toMatch(/DIFF text argmax per step: got \[.*\], golden \[.*\]/);
      expect(text).toMatch(/^FAIL/m);
    } finally {
      await rm(bad, { recursive: true, force: true });
    }
  });

  it('explains a missing golden', async () => {
    const { rc, text } = await verify(path.join(dir, 'nowhere'));
    expect(rc).toBe(1);
    expect(text).toMatch(/mobius testdata\/golden\/audio/);
  });
});
