/**
 * The rehearsal engine's talk-over ear alone (server/engines/rehearsal/talk-over-ear.ts): how many listener
 * backchannels it hears as backchannels (so the NPC carries on), and how many real interruptions it takes for one
 * (so the NPC would carry on when told to stop: the error that must not happen), both for interruptions whose
 * opening words the ear's grammar knows (INTERRUPTION_PHRASES) and for held-out ones it has none of. The eleven voices of the turns
 * bench (bench/support/speakers.ts). Each phrase is fed to the ear frame by frame as the engine feeds it (hearing
 * mix frames, the pause one frame after the voice's first loud frame, the verdict 280 ms after its end). Also: CPU
 * per second of voice heard (the ear runs only while paused).
 */
import { rms } from '../protocol/dsp/level.ts';
import { FRAME_SAMPLES, SAMPLE_RATE } from '../protocol/frame.ts';
import { TopicRecognizer } from '../server/engines/rehearsal/recognizer.ts';
import { INTERRUPTION_PHRASES, TalkOverDecoders, TalkOverEar } from '../server/engines/rehearsal/talk-over-ear.ts';
import { DEFAULT_TURN_TAKING } from '../server/engines/rehearsal/turn-taking.ts';
import { HELD_OUT_SPEAKERS, speak, TUNING_SPEAKERS } from './support/speakers.ts';

const TOKENS = ['Yeah.', 'Okay.', 'Right.', 'Uh huh.', 'I see.', 'Yep.'];
const CUTS = [
  'Stop.', 'Wait.', 'No.', 'Hey.', 'Hold on.', 'Hang on.', 'Hold it.', 'Listen.', 'What?', 'Excuse me.', 'Hold on a sec.',
  'Hold on a second.', 'No, no, wait.', 'Sorry to interrupt,', 'Wait, stop, I have a question.',
];
/** interruptions none of whose words is in the ear's grammar: how it does on cuts it was not written for */
const HELD_OUT_CUTS = [
  'Never mind.', 'Shut up.', 'Oh dear.', 'Nope.', 'Seriously?', 'Not now.', 'Hello?', 'Who?', 'Where?', 'Watch out!',
  'Please.', 'Well,', 'Ugh.', 'Good grief.', 'Slow down.', 'Cut that out.', 'Come here.', 'Can I ask?',
];
const GRAMMAR_WORDS = new Set(INTERRUPTION_PHRASES.flatMap((p) => p.split(' ')));
for (const c of HELD_OUT_CUTS) {
  const known = c.toLowerCase().match(/[a-z']+/g)!.filter((w) => GRAMMAR_WORDS.has(w));
  if (known.length) throw new Error(`held-out cut "${c}" has words the grammar knows: ${known.join(', ')}`);
}
const say = (s: string) => process.stderr.write(`  ${s}\n`);
/** every voice at this gain (PARLEY_TALKOVER_GAIN, default 1): a player nearer or further than the voices' own level */
const GAIN = Number(process.env.PARLEY_TALKOVER_GAIN ?? 1);
if (!(GAIN > 0)) throw new Error(`PARLEY_TALKOVER_GAIN must be a number > 0, got ${process.env.PARLEY_TALKOVER_GAIN}`);
const frames = (ms: number) => Math.ceil((ms / 1000) * SAMPLE_RATE / FRAME_SAMPLES);

export default async function talkOverBench(): Promise<Record<string, number>> {
  const recognizer = await TopicRecognizer.create({ decoders: 1 });
  const decoders = await TalkOverDecoders.create(recognizer, 1);
  const ear = new TalkOverEar(decoders);
  let cpuMs = 0;
  let voiceS = 0;
  /** what the ear makes of `voice` said over a paused NPC: quiet before, the voice, resumeAfterMs of quiet after */
  const hear = (voice: Float32Array): string => {
    const lead = frames(400);
    const x = new Float32Array((lead + frames(DEFAULT_TURN_TAKING.resumeAfterMs) + 1) * FRAME_SAMPLES + voice.length);
    for (let i = 0; i < voice.length; i++) x[lead * FRAME_SAMPLES + i] = voice[i]! * GAIN;
    let listening = false;
    const t = performance.now();
    for (let f = 0; (f + 1) * FRAME_SAMPLES <= x.length; f++) {
      const frame = x.subarray(f * FRAME_SAMPLES, (f + 1) * FRAME_SAMPLES);
      ear.push(frame);
      if (!listening && rms(frame) > 0.01) {
        ear.listen(); // the NPC pauses in the frame after the voice's first loud one
        listening = true;
      }
    }
    const verdict = ear.verdict();
    cpuMs += performance.now() - t;
    voiceS += voice.length / SAMPLE_RATE;
    return verdict === 'backchannel' ? ear.heard : `(${verdict}) ${ear.heard || 'nothing'}`;
  };
  const isBackchannel = (heard: string) => !heard.startsWith('(');
  let tokensHeard = 0;
  let tokens = 0;
  const misses: string[] = [];
  /** interruptions of each set taken for a backchannel: the error that must not happen */
  const cutSets = [
    { phrases: CUTS, label: 'INTERRUPTION', taken: 0, said: 0 },
    { phrases: HELD_OUT_CUTS, label: 'HELD-OUT INTERRUPTION', taken: 0, said: 0 },
  ];
  for (const speaker of [...TUNING_SPEAKERS, ...HELD_OUT_SPEAKERS]) {
    for (const text of TOKENS) {
      const heard = hear(await speak(speaker, text));
      tokens++;
      if (isBackchannel(heard)) tokensHeard++;
      else misses.push(`${speaker.name}: "${text}" as ${heard}`);
    }
    for (const set of cutSets) {
      for (const text of set.phrases) {
        const heard = hear(await speak(speaker, text));
        set.said++;
        if (isBackchannel(heard)) {
          set.taken++;
          say(`${set.label} TAKEN FOR A BACKCHANNEL: ${speaker.name}: "${text}" as "${heard}"`);
        }
      }
    }
  }
  const [cuts, held] = cutSets as [(typeof cutSets)[0], (typeof cutSets)[0]];
  decoders.dispose();
  recognizer.dispose();
  say(`${GAIN === 1 ? '' : `voices ×${GAIN}: `}listener tokens heard as backchannels: ${tokensHeard} of ${tokens}; interruptions taken for one: ${cuts.taken} of ${cuts.said}; held-out interruptions: ${held.taken} of ${held.said}`);
  say(`tokens missed (they end the line, as every one did before the ear): ${misses.join('; ')}`);
  return {
    talkover_tokens_heard_share: tokensHeard / tokens,
    talkover_interruptions_taken_share: cuts.taken / cuts.said,
    talkover_heldout_interruptions_taken_share: held.taken / held.said,
    talkover_cases_count: tokens + cuts.said + held.said,
    talkover_cpu_ms_per_voice_s: cpuMs / voiceS,
  };
}
