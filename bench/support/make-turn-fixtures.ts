/**
 * Writes the recorded cases that tests/rehearsal/turn-end-recorded.test.ts plays to the engine (CI has no
 * Flite or Festival, so the recordings are committed): npx tsx bench/support/make-turn-fixtures.ts
 *
 * One held-out speaker (Festival) and one tuning speaker (Flite slt); each says two sentences with a
 * mid-sentence pause (the pause is stored as 50 ms of silence and its place in index.json; the test sets its
 * length), a statement and a question (ends of turn), a listener backchannel and an interruption. 12 kHz
 * 16-bit mono WAV keeps them small.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Resampler } from '../../protocol/dsp/resampler.ts';
import { HELD_OUT_SPEAKERS, PAUSE, setPause, speak, TUNING_SPEAKERS } from './speakers.ts';

const OUT = fileURLToPath(new URL('../../tests/rehearsal/fixtures/turns/', import.meta.url));
const RATE = 12_000;

const speakers = [HELD_OUT_SPEAKERS.find((s) => s.engine === 'festival')!, TUNING_SPEAKERS.find((s) => s.voice === 'slt')!];
const clips: { name: string; text: string }[] = [
  { name: 'pause-1', text: 'I was thinking that we could' + PAUSE + 'go to the bridge and ask the captain.' },
  { name: 'pause-2', text: 'If we reroute power through the' + PAUSE + 'secondary relay it might work.' },
  { name: 'end-statement', text: 'The radio has been silent since noon.' },
  { name: 'end-question', text: 'Where should I go first?' },
  { name: 'listener-okay', text: 'Okay.' },
  { name: 'listener-yeah', text: 'Yeah.' },
  { name: 'interruption', text: 'Hold on a second, that is not what I asked.' },
];

function wav(x: Float32Array): Buffer {
  const down = new Resampler(24_000, RATE).process(x);
  const b = Buffer.alloc(44 + down.length * 2);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + down.length * 2, 4);
  b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(RATE, 24);
  b.writeUInt32LE(RATE * 2, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36);
  b.writeUInt32LE(down.length * 2, 40);
  down.forEach((v, i) => b.writeInt16LE(Math.round(Math.max(-1, Math.min(1, v)) * 32767), 44 + i * 2));
  return b;
}

await mkdir(OUT, { recursive: true });
const index: Record<string, { speaker: string; text: string; pauseAt?: number }> = {};
for (const s of speakers) {
  const tag = s.name.replace(/\W+/g, '-');
  for (const c of clips) {
    let x = await speak(s, c.text);
    let pauseAt: number | undefined;
    if (c.text.includes(PAUSE)) {
      const cut = setPause(x, 50);
      x = cut.samples;
      pauseAt = Number((((cut.pauseStart + cut.pauseEnd) / 2 / 24_000) * 1000).toFixed(1)); // ms into the clip
    }
    const file = `${tag}-${c.name}.wav`;
    await writeFile(path.join(OUT, file), wav(x));
    index[file] = { speaker: s.name, text: c.text.replace(PAUSE, ' … '), ...(pauseAt !== undefined ? { pauseAt } : {}) };
  }
}
await writeFile(path.join(OUT, 'index.json'), JSON.stringify(index, null, 2) + '\n');
console.log(`wrote ${Object.keys(index).length} clips to ${OUT}`);
