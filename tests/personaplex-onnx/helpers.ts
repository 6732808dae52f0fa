/** Shared set-up for the personaplex-onnx tests: a tiny bundle in a temp folder with a WAV voice prompt. */
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Persona } from '../../server/engines/contract.ts';
import { writeTinyBundle, type TinyBundle, type TinyBundleOptions } from './tiny-bundle.ts';

export async function tempBundle(options: TinyBundleOptions = {}): Promise<TinyBundle & { cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pp-onnx-'));
  const bundle = await writeTinyBundle(dir, options);
  await mkdir(path.join(dir, 'voices'));
  await writeFile(path.join(dir, 'voices', 'NATF0.wav'), wav16(voiceClip(1.0, 180)));
  await writeFile(path.join(dir, 'voices', 'VARM1.wav'), wav16(voiceClip(0.6, 110)));
  return { ...bundle, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A voiced-sounding test clip: a pitch with a slow amplitude envelope. */
export function voiceClip(seconds: number, pitch: number): Float32Array {
  const n = Math.round(seconds * 24000);
  return Float32Array.from({ length: n }, (_, i) => 0.3 * Math.sin((2 * Math.PI * pitch * i) / 24000) * (0.5 + 0.5 * Math.sin(i / 3000)));
}

export function wav16(x: Float32Array, rate = 24000): Buffer {
  const b = Buffer.alloc(44 + 2 * x.length);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + 2 * x.length, 4);
  b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(rate * 2, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36);
  b.writeUInt32LE(2 * x.length, 40);
  x.forEach((v, i) => b.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(v * 32767))), 44 + 2 * i));
  return b;
}

export function persona(over: Partial<Persona> = {}): Persona {
  return { id: 'teacher', name: 'Teacher', textPrompt: 'You are a wise and friendly teacher.', voice: { kind: 'builtin', id: 'NATF0' }, seed: 42, ...over };
}

/** The user's side of a conversation: a deterministic, changing input frame per index. */
export function userFrame(i: number, salt = 0): Float32Array {
  return Float32Array.from({ length: 1920 }, (_, j) => 0.2 * Math.sin(((i * 1920 + j) * (0.01 + 0.003 * salt)) + salt));
}
