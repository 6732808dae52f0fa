/**
 * The rehearsal engine's talk-over ear alone (server/engines/rehearsal/talk-over-ear.ts): how many listener
 * backchannels it hears as backchannels (so the NPC carries on), and how many real interruptions it takes for one
 * (so the NPC would carry on when told to stop: the error that must not happen). The eleven voices of the turns
 * bench (bench/support/speakers.ts), each phrase alone with 200 ms of quiet either side, decoded whole with the
 * engine's grammar and pronunciations. Also: CPU per second of audio decoded (the ear runs only while paused).
 */
import { Resampler } from '../protocol/dsp/resampler.ts';
import { RECOGNISER_RATE, TopicRecognizer } from '../server/engines/rehearsal/recognizer.ts';
import { BACKCHANNEL_GRAMMAR, BACKCHANNEL_PHRASES, BACKCHANNEL_PRONUNCIATIONS } from '../server/engines/rehearsal/talk-over-ear.ts';
import { HELD_OUT_SPEAKERS, speak, TUNING_SPEAKERS } from './support/speakers.ts';

const TOKENS = ['Yeah.', 'Okay.', 'Right.', 'Uh huh.', 'I see.', 'Yep.'];
const CUTS = [
  'Stop.', 'Wait.', 'No.', 'Hey.', 'Hold on.', 'Hang on.', 'Hold it.', 'Listen.', 'What?', 'Excuse me.', 'Hold on a sec.',
  'Hold on a second.', 'No, no, wait.', 'Sorry to interrupt,', 'Wait, stop, I have a question.',
];
const say = (s: string) => process.stderr.write(`  ${s}\n`);

export default async function talkOverBench(): Promise<Record<string, number>> {
  const recognizer = await TopicRecognizer.create({ decoders: 1 });
  const d = await recognizer.ownDecoder(BACKCHANNEL_GRAMMAR, BACKCHANNEL_PRONUNCIATIONS);
  let cpuMs = 0;
  let audioS = 0;
  const decode = (x24: Float32Array): string => {
    const padded = new Float32Array(4800 + x24.length + 4800);
    padded.set(x24, 4800);
    const x = new Resampler(24_000, RECOGNISER_RATE).process(padded).slice();
    let loudest = 0;
    for (let i = 0; i + 320 <= x.length; i += 160) {
      let e = 0;
      for (let j = i; j < i + 320; j++) e += x[j]! * x[j]!;
      loudest = Math.max(loudest, Math.sqrt(e / 320));
    }
    const gain = loudest > 0 ? Math.min(16, Math.max(1, 0.05 / loudest)) : 1;
    for (let i = 0; i < x.length; i++) x[i]! *= gain;
    const t = performance.now();
    d.start();
    d.process_audio(x);
    d.stop();
    cpuMs += performance.now() - t;
    audioS += x.length / RECOGNISER_RATE;
    return d.get_text().trim();
  };
  const isBackchannel = (text: string) => BACKCHANNEL_PHRASES.includes(text.split(/\s+/).filter(Boolean).join(' '));
  let tokensHeard = 0;
  let tokens = 0;
  let cutsTaken = 0;
  let cuts = 0;
  const misses: string[] = [];
  for (const speaker of [...TUNING_SPEAKERS, ...HELD_OUT_SPEAKERS]) {
    for (const text of TOKENS) {
      const heard = decode(await speak(speaker, text));
      tokens++;
      if (isBackchannel(heard)) tokensHeard++;
      else misses.push(`${speaker.name}: "${text}" as ${heard || '(nothing)'}`);
    }
    for (const text of CUTS) {
      const heard = decode(await speak(speaker, text));
      cuts++;
      if (isBackchannel(heard)) {
        cutsTaken++;
        say(`INTERRUPTION TAKEN FOR A BACKCHANNEL: ${speaker.name}: "${text}" as "${heard}"`);
      }
    }
  }
  d.delete();
  recognizer.dispose();
  say(`listener tokens heard as backchannels: ${tokensHeard} of ${tokens}; interruptions taken for one: ${cutsTaken} of ${cuts}`);
  say(`tokens missed (they end the line, as every one did before the ear): ${misses.join('; ')}`);
  return {
    talkover_tokens_heard_share: tokensHeard / tokens,
    talkover_interruptions_taken_share: cutsTaken / cuts,
    talkover_cases_count: tokens + cuts,
    talkover_cpu_ms_per_audio_s: cpuMs / audioS,
  };
}
