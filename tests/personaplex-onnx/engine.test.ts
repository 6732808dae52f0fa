/**
 * The engine on the tiny bundle (CPU): prompt phases, seeded sampling, text pieces, persona snapshots, batching,
 * provider fallback, loading progress and loader errors. The tiny bundle stands in for the real mobius export.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rm, copyFile } from 'node:fs/promises';
import path from 'node:path';
import { PersonaPlexOnnxEngine } from '../../server/engines/personaplex-onnx/engine.ts';
import { Tokenizer } from '../../server/persona/tokenizer.ts';
import { SILENCE_TOKENS, SINE_TOKENS, TEXT_PAD } from '../../server/engines/personaplex-onnx/constants.ts';
import type { StepOutput } from '../../server/engines/contract.ts';
import { persona, tempBundle, userFrame } from './helpers.ts';
import { recordingLogger } from '../support/log.ts';

let bundle: Awaited<ReturnType<typeof tempBundle>>;

beforeAll(async () => {
  bundle = await tempBundle();
});
afterAll(async () => {
  await bundle?.cleanup();
});

async function engine(over: Partial<Parameters<typeof PersonaPlexOnnxEngine.create>[0]> = {}) {
  return PersonaPlexOnnxEngine.create({ modelDir: bundle.dir, intraOpNumThreads: 1, ...over });
}

/** Steps one session alone for n frames. */
async function run(e: PersonaPlexOnnxEngine, session: number, n: number, salt = 0, from = 0): Promise<StepOutput[]> {
  const outs: StepOutput[] = [];
  for (let i = from; i < from + n; i++) outs.push((await e.step([{ session, input: userFrame(i, salt) }]))[0]!);
  return outs;
}

function expectSame(a: StepOutput[], b: StepOutput[]) {
  expect(a.map((o) => o.text ?? null)).toEqual(b.map((o) => o.text ?? null));
  a.forEach((o, i) => {
    expect(o.error).toBeUndefined();
    const d = o.output.reduce((m, v, j) => Math.max(m, Math.abs(v - b[i]!.output[j]!)), 0);
    expect(d).toBeLessThan(1e-5);
  });
}

describe('prompt phase', () => {
  it('feeds voice, 6 silence frames, <system> text one token per frame, 6 silence frames', async () => {
    const e = await engine();
    const tok = await Tokenizer.load(path.join(bundle.dir, 'tokenizer_spm_32k_3.model'));
    const p = persona();
    const tokens = e.promptTokens(p);
    expect(tokens).toEqual(tok.encode('<system> You are a wise and friendly teacher. <system>'));
    expect(tokens.slice(0, 3).map((t) => tok.piece(t))).toEqual(['▁<', 'system', '>']);

    const { columns, phases } = await e.promptColumns(p, tokens);
    const voiceFrames = phases.filter((x) => x === 'voice prompt').length;
    // 1.0 s of WAV = 12.5 Mimi frames, the last zero-padded as the reference does: 13; the first step only
    // seeds the ring, so 12 voice columns.
    expect(voiceFrames).toBe(12);
    expect(columns.length).toBe(voiceFrames + 6 + tokens.length + 6);
    const after = columns.slice(voiceFrames);
    // Column j reads the slot written one step earlier (two for acoustic codebooks).
    // Silence: text PAD, agent SILENCE_TOKENS, user SINE_TOKENS: the semantic codebook from the second
    // silence column on, the acoustic ones (delay 1) from the third.
    for (const c of after.slice(1, 6)) expect([c[0], c[1], ...c.subarray(9)]).toEqual([TEXT_PAD, SILENCE_TOKENS[0], ...SINE_TOKENS]);
    for (const c of after.slice(2, 6)) expect([...c]).toEqual([TEXT_PAD, ...SILENCE_TOKENS, ...SINE_TOKENS]);
    // Text prompt: one token per frame, read one frame later, with silence on the agent and sine on the user.
    const text = after.slice(6, 6 + tokens.length + 1).map((c) => c[0]);
    expect(text).toEqual([TEXT_PAD, ...tokens]);
    for (const c of after.slice(6)) expect([...c.subarray(1)]).toEqual([...SILENCE_TOKENS, ...SINE_TOKENS]);
    // Closing silence.
    for (const c of after.slice(6 + tokens.length + 1)) expect(c[0]).toBe(TEXT_PAD);
    expect(after.length - (6 + tokens.length + 1)).toBe(5);
    // Voice frames: agent = the clip's Mimi codes, text PAD, user sine (semantic codebooks on time).
    for (const c of columns.slice(1, voiceFrames)) {
      expect(c[0]).toBe(TEXT_PAD);
      expect(c[9]).toBe(SINE_TOKENS[0]);
    }
    await e.dispose();
  });

  it('reports progress and keeps one snapshot per persona and voice', async () => {
    const e = await engine();
    const seen: string[] = [];
    await e.open(persona(), { onProgress: (p) => seen.push(`${p.phase}:${p.fraction.toFixed(2)}`) });
    expect(seen.at(-1)).toMatch(/:1\.00$/);
    expect(e.snapshotCount).toBe(1);
    const again: string[] = [];
    await e.open(persona({ seed: 1 }), { onProgress: (p) => again.push(p.phase) });
    expect(again).toEqual(['persona snapshot']);
    await e.open(persona({ voice: { kind: 'builtin', id: 'VARM1' } }));
    expect(e.snapshotCount).toBe(2);
    await e.dispose();
  });
});

describe('stepping', () => {
  it('is reproducible for a seed and differs across seeds', async () => {
    const e = await engine();
    const a = await run(e, await e.open(persona({ seed: 3 })), 10);
    const b = await run(e, await e.open(persona({ seed: 3 })), 10);
    const c = await run(e, await e.open(persona({ seed: 4 })), 10);
    expectSame(a, b);
    expect(a.map((o) => o.text ?? '') .join('|') + a[9]!.output[100]).not.toEqual(c.map((o) => o.text ?? '').join('|') + c[9]!.output[100]);
    await e.dispose();
  });

  it('sends text as SentencePiece pieces of sampled ids, never control tokens', async () => {
    const e = await engine();
    const tok = await Tokenizer.load(path.join(bundle.dir, 'tokenizer_spm_32k_3.model'));
    const outs = await run(e, await e.open(persona()), 12);
    const pieces = outs.map((o) => o.text).filter((t): t is string => !!t);
    // The tiny model's text head is random, so most frames carry a piece.
    expect(pieces.length).toBeGreaterThan(3);
    for (const p of pieces) {
      const id = tok.pieces.indexOf(p);
      expect(id).toBeGreaterThan(3);
    }
    for (const o of outs) expect(o.output.length).toBe(1920);
    await e.dispose();
  });

  it('a snapshot gives the same conversation as a fresh prompt phase', async () => {
    const withSnapshots = await engine();
    const first = await withSnapshots.open(persona({ seed: 9 }));
    const fromSnapshot = await withSnapshots.open(persona({ seed: 9 }));
    expect(withSnapshots.snapshotCount).toBe(1);
    const noSnapshots = await engine({ snapshotLimit: 0 });
    const fresh = await noSnapshots.open(persona({ seed: 9 }));
    expect(noSnapshots.snapshotCount).toBe(0);
    const a = await run(withSnapshots, fromSnapshot, 10);
    const b = await run(noSnapshots, fresh, 10);
    expectSame(a, b);
    // The first session, stepped afterwards (its cache went in and out of the batch), agrees too.
    expectSame(await run(withSnapshots, first, 10), b);
    await Promise.all([withSnapshots.dispose(), noSnapshots.dispose()]);
  });

  it('a batch of N sessions gives what N sessions alone give, through joins and leaves', async () => {
    const personas = [
      persona({ seed: 1 }),
      persona({ seed: 2, voice: { kind: 'builtin', id: 'VARM1' }, textPrompt: 'You guard the airlock and trust nobody.' }),
      persona({ seed: 3, textPrompt: 'You are a botanist on Mars.' }),
    ];
    const frames = 8;
    // Alone: one engine per session, so nothing is shared.
    const alone: StepOutput[][] = [];
    for (const [k, p] of personas.entries()) {
      const e = await engine();
      const s = await e.open(p);
      alone.push(await run(e, s, frames, k));
      await e.dispose();
    }
    // Together: sessions 0 and 1 start; session 2 joins at frame 3 (rebuild with a shorter cache); session 1
    // leaves at frame 6.
    const e = await engine();
    const ids = [await e.open(personas[0]!), await e.open(personas[1]!)];
    const together: StepOutput[][] = [[], [], []];
    const pos = [0, 0, 0];
    for (let t = 0; t < frames + 3; t++) {
      if (t === 3) ids.push(await e.open(personas[2]!));
      const batch = ids
        .map((session, k) => ({ session, k }))
        .filter(({ k }) => pos[k]! < frames && !(k === 1 && t >= 6));
      if (batch.length === 0) break;
      const outs = await e.step(batch.map(({ session, k }) => ({ session, input: userFrame(pos[k]!, k) })));
      batch.forEach(({ k }, j) => {
        together[k]!.push(outs[j]!);
        pos[k]!++;
      });
      if (t === 6) await e.close(ids[1]!);
    }
    expectSame(together[0]!, alone[0]!);
    expectSame(together[1]!, alone[1]!.slice(0, together[1]!.length));
    expect(together[1]!.length).toBe(6);
    expectSame(together[2]!, alone[2]!);
    await e.dispose();
  });

  it('answers bad input with an error for that session only', async () => {
    const e = await engine();
    const s = await e.open(persona());
    const outs = await e.step([
      { session: s, input: userFrame(0) },
      { session: 999, input: userFrame(0) },
    ]);
    expect(outs[0]!.error).toBeUndefined();
    expect(outs[1]!.error?.message).toMatch(/unknown session/);
    const short = await e.step([{ session: s, input: new Float32Array(10) }]);
    expect(short[0]!.error?.message).toMatch(/1920/);
    await expect(e.open(persona({ voice: { kind: 'builtin', id: 'VARF4' } }))).rejects.toThrow(/voice VARF4 not found/);
    await e.dispose();
  });
});

describe('loading', () => {
  it('reports byte progress and falls back to the CPU when a provider fails to load', async () => {
    const { log, lines } = recordingLogger();
    const progress: { phase: string; fraction: number }[] = [];
    const e = await engine({ providers: ['cuda'], log, onLoadProgress: (p) => progress.push(p) });
    expect(e.provider).toBe('cpu');
    expect(lines.join('\n')).toMatch(/provider=cuda fallback=cpu .*execution provider failed to load/);
    const reading = progress.filter((p) => p.phase === 'reading weights');
    expect(reading.length).toBeGreaterThan(0);
    expect(reading.at(-1)!.fraction).toBe(1);
    expect(progress.some((p) => p.phase === 'opening graphs' && p.fraction === 1)).toBe(true);
    // And it works.
    const outs = await run(e, await e.open(persona()), 2);
    expect(outs[1]!.error).toBeUndefined();
    await e.dispose();
  });

  it('names a missing graph', async () => {
    const broken = await tempBundle();
    await rm(path.join(broken.dir, 'depformer'), { recursive: true });
    await expect(PersonaPlexOnnxEngine.create({ modelDir: broken.dir })).rejects.toThrow(/graph 'depformer' is missing/);
    await broken.cleanup();
  });

  it('names a graph with the wrong inputs', async () => {
    const broken = await tempBundle();
    await copyFile(path.join(broken.dir, 'mimi_decoder', 'model.onnx'), path.join(broken.dir, 'mimi_encoder', 'model.onnx'));
    await expect(PersonaPlexOnnxEngine.create({ modelDir: broken.dir })).rejects.toThrow(/'mimi_encoder' has no input 'waveform'/);
    await broken.cleanup();
  });

  it('names an input with the wrong dtype', async () => {
    const broken = await tempBundle({ wrongMaskDtype: true });
    await expect(PersonaPlexOnnxEngine.create({ modelDir: broken.dir })).rejects.toThrow(/'temporal' input 'attention_mask' has dtype float32, expected int64/);
    await broken.cleanup();
  });
});
