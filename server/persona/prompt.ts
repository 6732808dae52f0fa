/**
 * The prompt phase as PersonaPlex runs it before an NPC can speak (NVIDIA/personaplex `LMGen.step_system_prompts`):
 * the voice prompt's frames, 0.5 s of silence, the text prompt wrapped in `<system>` tags one token per step,
 * 0.5 s of silence. Every step is one 80 ms model step, so this layout is also the start-up cost the sheets
 * report and the server engine's progress estimate.
 */
import { FRAMES_PER_SECOND } from '../../protocol/frame.ts';

export { FRAMES_PER_SECOND };

export const SYSTEM_TAG = '<system>';

/** PersonaPlex `wrap_with_system_tags`: `<system> {text} <system>` (both tags the same); already wrapped text is kept. */
export function wrapWithSystemTags(text: string): string {
  const t = text.trim();
  return t.startsWith(SYSTEM_TAG) && t.endsWith(SYSTEM_TAG) && t.length > SYSTEM_TAG.length ? t : `${SYSTEM_TAG} ${t} ${SYSTEM_TAG}`;
}

/** 0.5 s of silence frames after the voice prompt and after the text prompt. */
export const PROMPT_SILENCE_FRAMES = 6;

export interface PromptPhase {
  voiceSteps: number;
  silenceSteps: number;
  textSteps: number;
  total: number;
}

/** Model steps of the prompt phase: voice frames + silence + one per text token (tags included) + silence. */
export function promptPhase(voiceFrames: number, textTokens: number): PromptPhase {
  const silenceSteps = 2 * PROMPT_SILENCE_FRAMES;
  return { voiceSteps: voiceFrames, silenceSteps, textSteps: textTokens, total: voiceFrames + silenceSteps + textTokens };
}
