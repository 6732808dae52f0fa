/**
 * Ground truth through the rehearsal engine itself (issue 4): each line is a persona's greeting; the engine is
 * stepped in-thread with silent input until it has spoken it, and its StepOutputs (text pieces, phoneme events
 * per frame) are kept. Measured with the engine's own declared textLeadFrames.
 */
import { FRAME_SAMPLES } from '../../protocol/frame.ts';
import { BUILTIN_VOICES, type Persona } from '../../server/persona/persona.ts';
import { RehearsalEngine } from '../../server/engines/rehearsal/engine.ts';
import type { SpokenFrame } from './espeak-speaker.ts';

export interface RehearsalSpeech {
  lead: number;
  utterances: SpokenFrame[][];
}

/** Speak every line in each of `voices` (builtin voice ids); returns the frames of each greeting. */
export async function speakThroughRehearsal(lines: readonly string[], voices: readonly (typeof BUILTIN_VOICES)[number][]): Promise<RehearsalSpeech> {
  const engine = await RehearsalEngine.create({ tts: 'inline', quiet: true });
  const silence = new Float32Array(FRAME_SAMPLES);
  const utterances: SpokenFrame[][] = [];
  try {
    for (const voice of voices) {
      for (const [n, line] of lines.entries()) {
        const persona: Persona = {
          id: `bench-${voice}-${n}`,
          name: 'Bench',
          textPrompt: '',
          voice: { kind: 'builtin', id: voice },
          seed: n,
          rehearsal: { greeting: line, lines: ['Yes.'], backchannels: ['Mm.'], afterInterruption: 'Go on.' },
        };
        const session = await engine.open(persona);
        const frames: SpokenFrame[] = [];
        let spoke = false;
        let quiet = 0;
        // step until the greeting has started and then ended (10 quiet frames), or 30 s at most
        for (let f = 0; f < 375 && quiet < 10; f++) {
          const [out] = await engine.step([{ session, input: silence }]);
          if (out.error) throw new Error(`rehearsal engine: ${out.error.message}`);
          frames.push({ ...(out.text ? { text: out.text } : {}), ...(out.phonemes ? { phonemes: out.phonemes } : {}) });
          const sound = out.output.some((x) => Math.abs(x) > 1e-3);
          if (sound) spoke = true;
          quiet = spoke && !sound ? quiet + 1 : 0;
        }
        await engine.close(session);
        if (!spoke) throw new Error(`rehearsal engine never spoke "${line}" in voice ${voice}`);
        utterances.push(frames);
      }
    }
    return { lead: engine.textLeadFrames, utterances };
  } finally {
    await engine.dispose();
  }
}
