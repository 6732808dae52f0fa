/** Scripted hearing for TurnTaking's tests: one Hearing per 80 ms frame, and the decisions it gives. */
import type { Hearing, TurnDecision, TurnTaking } from '../../server/engines/rehearsal/turn-taking.ts';

/** Feed a script of hearing per 80 ms frame; playback lasts `utteranceFrames` frames after each say. */
export function run(t: TurnTaking, script: Hearing[], utteranceFrames = 10) {
  const log: { frame: number; d: TurnDecision }[] = [];
  let playingUntil = -1;
  let pausedAt = -1;
  script.forEach((h, frame) => {
    const d = t.step(h, frame >= playingUntil);
    if (d.say) playingUntil = frame + utteranceFrames;
    if (d.interrupt) playingUntil = -1;
    if (d.pause) pausedAt = frame;
    if (d.resume || d.interrupt || d.say) pausedAt = -1;
    if (pausedAt >= 0) playingUntil++; // held: the utterance ends that much later
    if (d.say || d.interrupt || d.pause || d.resume) log.push({ frame, d });
  });
  return log;
}

/** `frames` frames of player speech. */
export const talk = (frames: number): Hearing[] => Array.from({ length: frames }, (_, i) => ({ speechMs: (i + 1) * 80, silenceMs: 0 }));
