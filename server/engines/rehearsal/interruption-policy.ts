/**
 * The rehearsal engine's side of the interruption policies (server/persona/interruption.ts), kept exactly:
 *
 *   yield          turn-taking's barge-in stops the line at once (unchanged).
 *   finish_phrase  the barge-in is decided as for yield, but the line plays on to the end of the phrase it is
 *                  in and stops at the start of the frame where the next phrase's first word begins (or at its
 *                  end); 'interrupted' is reported there. Turn-taking hears nothing meanwhile.
 *   hold           while it speaks a line (not a backchannel), turn-taking hears nothing, so nothing barges in;
 *                  if the player spoke over it, their turn is open when the line ends and gets an answer.
 *   talk_over      as hold, but what was said over the line is dropped: only speech after it ends counts.
 */
import type { InterruptionPolicy } from '../../persona/interruption.ts';
import type { Hearing, UtteranceKind } from './turn-taking.ts';

/** What turn-taking is told while the NPC keeps the floor: no speech, no silence either (nothing becomes due). */
export const FLOOR_KEPT: Hearing = { speechMs: 0, silenceMs: 0 };

/** Whether an utterance of this kind keeps the floor from its start under `policy`. Backchannels never do. */
export function keepsFloor(policy: InterruptionPolicy, kind: UtteranceKind): boolean {
  return (policy === 'hold' || policy === 'talk_over') && kind !== 'backchannel';
}

/** Whether speech heard over a kept line is answered once the line ends. */
export function answersSpeechOver(policy: InterruptionPolicy): boolean {
  return policy === 'hold';
}

const PHRASE_END = /[,.;:!?…—–]["'’”)]*$/;

/**
 * The frame (on the utterance's grid) where a line cut after `played` frames stops under finish_phrase: the onset
 * frame of the first word after the phrase being spoken, or `frames` (the line's end) when it is the last phrase.
 * `words` are the line's words in order, with their text (punctuation kept) and onset frames.
 */
export function phraseEndFrame(words: readonly { piece: string; onsetFrame: number }[], played: number, frames: number): number {
  // the word being spoken: the last one whose audio has started
  let current = -1;
  for (let i = 0; i < words.length; i++) if (words[i]!.onsetFrame < played) current = i;
  for (let i = Math.max(0, current); i < words.length - 1; i++) {
    if (PHRASE_END.test(words[i]!.piece)) return Math.max(played, words[i + 1]!.onsetFrame);
  }
  return Math.max(played, frames);
}
