/**
 * `.pt` voice files: the torch zip reader, and the conversion of saved per-frame embeddings back into the
 * token columns that produced them, replayed by the engine in the reference order. The `.pt` fixture is made
 * here the way PersonaPlex makes one (embeddings of each voice step's input column + the token ring after it),
 * from the tiny bundle's own embedding tables.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { access, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readTorchFile } from '../../server/engines/personaplex-onnx/torch-zip.ts';
import { LmRing, type Forced } from '../../server/engines/personaplex-onnx/lm-ring.ts';
import { PROMPT_SILENCE_FRAMES, SILENCE_TOKENS, SINE_TOKENS, TEXT_PAD } from '../../server/engines/personaplex-onnx/constants.ts';
import { PersonaPlexOnnxEngine } from '../../server/engines/personaplex-onnx/engine.ts';
import { readVoiceFrames } from '../../server/engines/personaplex-onnx/voices.ts';
import { torchSave } from './torch-fixture.ts';
import { persona, tempBundle, userFrame } from './helpers.ts';
import type { TinyWeights } from './tiny-bundle.ts';

let bundle: Awaited<ReturnType<typeof tempBundle>>;

/** Runs a voice prompt of random codes through the ring, as PersonaPlex does when it saves a voice. */
function recordVoice(frames: number, seed: number) {
  let x = seed;
  const rand = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) % 2048);
  const ring = new LmRing();
  const columns: Int32Array[] = [];
  for (let f = 0; f < frames; f++) {
    const p = ring.prepare({ agent: Array.from({ length: 8 }, rand), text: TEXT_PAD, user: SINE_TOKENS });
    if (!p) continue;
    columns.push(p.input);
    ring.commit(TEXT_PAD, null);
  }
  return { ring, columns };
}

function embed(w: TinyWeights, column: Int32Array): Float32Array {
  const H = w.hidden;
  const e = new Float32Array(H);
  column.forEach((tok, k) => {
    const T = k === 0 ? w.textEmb : w.audioEmb[k - 1]!;
    for (let h = 0; h < H; h++) e[h] += T[tok * H + h]!;
  });
  return e;
}

beforeAll(async () => {
  // Hidden 256: the conversion separates 17 summed rows reliably only with enough dimensions (the real model
  // has 4096).
  bundle = await tempBundle({ hidden: 256, heads: 4 });
});
afterAll(async () => {
  await bundle?.cleanup();
});

describe('torch.save reader', () => {
  it('reads float32, bfloat16 and int64 tensors with their shapes', () => {
    const file = torchSave({
      embeddings: { dtype: 'bfloat16', shape: [2, 1, 1, 3], values: [1, -2, 0.5, 3.25, 100, -0.125] },
      cache: { dtype: 'int64', shape: [1, 2, 2], values: [32000, 3, 2048, 948] },
      extra: { dtype: 'float32', shape: [2], values: [0.1, 0.2] },
    });
    const t = readTorchFile(file);
    expect(t.get('embeddings')!.shape).toEqual([2, 1, 1, 3]);
    expect(t.get('embeddings')!.toNumbers()).toEqual([1, -2, 0.5, 3.25, 100, -0.125]);
    expect(t.get('cache')!.dtype).toBe('int64');
    expect(t.get('cache')!.toNumbers()).toEqual([32000, 3, 2048, 948]);
    expect(t.get('extra')!.toFloat32()[1]).toBeCloseTo(0.2, 6);
  });

  it('refuses files that are not torch zips, and pickles that call anything else', () => {
    expect(() => readTorchFile(Buffer.from('not a zip at all, just some bytes of text'))).toThrow(/not a zip/);
    const evil = torchSave({ x: { dtype: 'float32', shape: [1], values: [1] } });
    const patched = Buffer.from(evil.toString('latin1').replace('collections\nOrderedDict', 'subprocessX\nPopenXXXXXX'), 'latin1');
    expect(() => readTorchFile(patched)).toThrow(/unsupported global/);
  });
});

describe('.pt voices', () => {
  it('converts a voice file back to its token frames and replays it in the reference order', async () => {
    const { ring, columns } = recordVoice(10, 7);
    const H = bundle.weights.hidden;
    const embeddings = new Float32Array(columns.length * H);
    columns.forEach((c, n) => embeddings.set(embed(bundle.weights, c), n * H));
    await writeFile(
      path.join(bundle.dir, 'voices', 'NATM0.pt'),
      torchSave({
        embeddings: { dtype: 'bfloat16', shape: [columns.length, 1, 1, H], values: embeddings },
        cache: { dtype: 'int64', shape: [1, 17, 4], values: ring.cache },
      }),
    );
    const e = await PersonaPlexOnnxEngine.create({ modelDir: bundle.dir });
    const p = persona({ voice: { kind: 'builtin', id: 'NATM0' } });
    const tokens = e.promptTokens(p);
    const got = await e.promptColumns(p, tokens);

    // The saved frames come back exactly.
    expect(got.columns.slice(0, columns.length).map((c) => [...c])).toEqual(columns.map((c) => [...c]));
    // And the rest of the prompt continues from the saved token ring, as if the voice had just been spoken.
    const expected: Int32Array[] = [];
    const step = (f: Forced) => {
      const q = ring.prepare(f)!;
      expected.push(q.input);
      ring.commit(TEXT_PAD, null);
    };
    const silence = { agent: SILENCE_TOKENS, text: TEXT_PAD, user: SINE_TOKENS };
    for (let i = 0; i < PROMPT_SILENCE_FRAMES; i++) step(silence);
    for (const t of tokens) step({ agent: SILENCE_TOKENS, text: t, user: SINE_TOKENS });
    for (let i = 0; i < PROMPT_SILENCE_FRAMES; i++) step(silence);
    expect(got.columns.slice(columns.length).map((c) => [...c])).toEqual(expected.map((c) => [...c]));

    // The conversion is cached beside the .pt, exact up to bfloat16 rounding.
    const cached = path.join(bundle.dir, 'voices', 'NATM0.voice.json');
    await access(cached);
    const v = await readVoiceFrames(cached);
    expect(v.maxRelResidual).toBeLessThan(0.01);

    // A session with that voice runs.
    const s = await e.open(p);
    const [o] = await e.step([{ session: s, input: userFrame(0) }]);
    expect(o!.error).toBeUndefined();
    await e.dispose();
  });

  it('rejects a voice file made for another model', async () => {
    const H = bundle.weights.hidden;
    const noise = Float32Array.from({ length: 3 * H }, (_, i) => Math.sin(i * 12.9898) * 3);
    await writeFile(
      path.join(bundle.dir, 'voices', 'VARF0.pt'),
      torchSave({ embeddings: { dtype: 'float32', shape: [3, 1, 1, H], values: noise }, cache: { dtype: 'int64', shape: [1, 17, 4], values: new Array(68).fill(3) } }),
    );
    const e = await PersonaPlexOnnxEngine.create({ modelDir: bundle.dir });
    await expect(e.open(persona({ voice: { kind: 'builtin', id: 'VARF0' } }))).rejects.toThrow(/not a sum of this model's token embeddings/);
    await e.dispose();
  });
});
