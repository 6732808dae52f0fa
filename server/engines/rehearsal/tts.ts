/**
 * espeak-ng (WebAssembly, GPL-3.0: server side only) as the rehearsal engine's voice. One call speaks a whole
 * line and returns it at 24 kHz with its word and phoneme onsets, which become the text pieces and the lip-sync
 * ground truth. Synthesis is synchronous and takes about 4% of the audio's length; see tts-thread.ts to keep it
 * off the stepping thread.
 */
import { SAMPLE_RATE } from '../../../protocol/frame.ts';
import { resampleAligned } from '../../../protocol/dsp/resampler.ts';

export interface VoiceProfile {
  /** espeak voice and variant, e.g. 'gmw/en-US+f3' */
  espeak: string;
  /** espeak base pitch 0–99 and pitch range 0–99 */
  pitch: number;
  range: number;
  /** words per minute */
  rate: number;
}

export interface SynthWord {
  /** the word as written, with any punctuation up to the next word (e.g. 'village.') */
  text: string;
  /** onset in 24 kHz samples from the start of the audio */
  start: number;
}

export interface SynthPhoneme {
  /** IPA from espeak, stress marks kept; '_' for a pause */
  ipa: string;
  start: number;
}

export interface Synthesis {
  text: string;
  /** 24 kHz mono */
  samples: Float32Array;
  words: SynthWord[];
  phonemes: SynthPhoneme[];
}

export interface TtsBackend {
  synthesize(voice: VoiceProfile, text: string): Promise<Synthesis>;
  dispose(): Promise<void>;
}

/** Longest line spoken in one go; longer text is cut at a word boundary (a line is a few sentences at most). */
export const MAX_LINE_CHARS = 600;

/** What the espeak-ng WASM worker reports and offers (the package ships no types). */
export interface EspeakEvent {
  type: string;
  text_position: number;
  word_length: number;
  audio_position: number;
  id: string | number | undefined;
}

export interface EspeakWorker {
  set_voice(name: string): number;
  set_rate(wpm: number): number;
  set_pitch(p: number): number;
  set_range(r: number): number;
  get_samplerate(): number;
  synthesize(text: string, cb: (samples: Int16Array, events: EspeakEvent[]) => boolean): void;
}

/** Plain text espeak can read: no markup, no control characters, bounded length. */
export function cleanLine(text: string): string {
  let t = String(text)
    .replace(/[\u0000-\u001f\u007f<>&]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (t.length > MAX_LINE_CHARS) {
    const cut = t.lastIndexOf(' ', MAX_LINE_CHARS);
    t = t.slice(0, cut > 0 ? cut : MAX_LINE_CHARS);
  }
  return t;
}

/**
 * espeak spells out interjections it has no entry for ('Mm-hm' → 'em aitch em'); respell the common ones.
 * Captions then show what was said.
 */
export function speakable(text: string): string {
  // 'Mm', 'Mhm', 'Mm-hm', 'mm-hmm'; not a lone 'm' and not the m of "I'm".
  return text.replace(/(?<![\w'’])([Mm])([Mm]*-?[Hh]+[Mm]+|[Mm]+)(?![\w'’])/g, (w: string, m: string) => {
    const hmm = m === 'M' ? 'Hmm' : 'hmm';
    return /h/i.test(w) ? `${hmm}-hmm` : hmm;
  });
}

export class EspeakTts {
  private constructor(private readonly worker: EspeakWorker, private readonly rate: number) {}

  static async create(): Promise<EspeakTts> {
    const { default: init } = await import('@echogarden/espeak-ng-emscripten');
    const mod = (await init()) as { eSpeakNGWorker: new () => EspeakWorker };
    const worker = new mod.eSpeakNGWorker();
    return new EspeakTts(worker, worker.get_samplerate());
  }

  synthesize(voice: VoiceProfile, line: string): Synthesis {
    const text = speakable(cleanLine(line));
    if (this.worker.set_voice(voice.espeak) !== 0) throw new Error(`espeak has no voice '${voice.espeak}'`);
    this.worker.set_rate(voice.rate);
    this.worker.set_pitch(voice.pitch);
    this.worker.set_range(voice.range);
    const chunks: Int16Array[] = [];
    const events: EspeakEvent[] = [];
    if (text) {
      this.worker.synthesize(text, (samples, evs) => {
        chunks.push(samples);
        events.push(...evs);
        return false; // false: keep going
      });
    }
    const total = chunks.reduce((a, c) => a + c.length, 0);
    const raw = new Float32Array(total);
    let o = 0;
    for (const c of chunks) for (let i = 0; i < c.length; i++) raw[o++] = c[i]! / 32768;
    const samples = resampleAligned(raw, this.rate, SAMPLE_RATE);
    // espeak reports positions in ms of its own output; ms × 24 is the 24 kHz sample.
    const at = (ms: number) => Math.min(samples.length, Math.max(0, Math.round((ms * SAMPLE_RATE) / 1000)));
    return { text, samples, words: wordsOf(text, events, at), phonemes: phonemesOf(events, at) };
  }
}

function wordsOf(text: string, events: EspeakEvent[], at: (ms: number) => number): SynthWord[] {
  // One entry per written word: a number read as several spoken words keeps its first onset only.
  const starts: { pos: number; start: number }[] = [];
  for (const e of events) {
    if (e.type !== 'word') continue;
    const pos = e.text_position - 1; // espeak counts characters from 1
    if (pos < 0 || pos >= text.length) continue;
    if (starts.length && pos <= starts[starts.length - 1]!.pos) continue;
    starts.push({ pos, start: at(e.audio_position) });
  }
  return starts
    .map((s, i) => ({ text: text.slice(s.pos, i + 1 < starts.length ? starts[i + 1]!.pos : text.length).trim(), start: s.start }))
    .filter((w) => w.text.length > 0);
}

function phonemesOf(events: EspeakEvent[], at: (ms: number) => number): SynthPhoneme[] {
  const out: SynthPhoneme[] = [];
  for (const e of events) {
    if (e.type !== 'phoneme') continue;
    const ipa = typeof e.id === 'string' && e.id.length > 0 ? e.id : '_';
    const start = at(e.audio_position);
    const last = out[out.length - 1];
    if (last && last.ipa === '_' && ipa === '_') continue; // espeak repeats pause markers
    out.push({ ipa, start });
  }
  return out;
}

/** TTS in the calling thread (tests, tools). Blocks while it speaks. */
export class InlineTts implements TtsBackend {
  private constructor(private readonly tts: EspeakTts) {}
  static async create(): Promise<InlineTts> {
    return new InlineTts(await EspeakTts.create());
  }
  async synthesize(voice: VoiceProfile, text: string): Promise<Synthesis> {
    return this.tts.synthesize(voice, text);
  }
  async dispose(): Promise<void> {}
}
