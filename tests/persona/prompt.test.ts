/** The prompt-phase layout the sheets report and both PersonaPlex engines follow. */
import { describe, expect, it } from 'vitest';
import { FRAMES_PER_SECOND, PROMPT_SILENCE_FRAMES, promptPhase, wrapWithSystemTags } from '../../server/persona/prompt.ts';
import { BUILTIN_VOICES, isBuiltinVoice } from '../../server/persona/persona.ts';

describe('prompt phase', () => {
  it('wraps the prompt in <system> tags once, as PersonaPlex wrap_with_system_tags does', () => {
    expect(wrapWithSystemTags('You are Alex.')).toBe('<system> You are Alex. <system>');
    expect(wrapWithSystemTags('  You are Alex.\n')).toBe('<system> You are Alex. <system>');
    expect(wrapWithSystemTags(wrapWithSystemTags('You are Alex.'))).toBe('<system> You are Alex. <system>');
    expect(wrapWithSystemTags('<system>')).toBe('<system> <system> <system>');
  });

  it('lays out voice frames, 6 silence steps, one step per text token, 6 silence steps', () => {
    expect(PROMPT_SILENCE_FRAMES).toBe(6);
    expect(promptPhase(60, 40)).toEqual({ voiceSteps: 60, silenceSteps: 12, textSteps: 40, total: 112 });
    expect(promptPhase(0, 0).total).toBe(12);
    expect(FRAMES_PER_SECOND).toBe(12.5);
  });

  it('knows the model’s 18 voices and nothing else', () => {
    expect(BUILTIN_VOICES).toHaveLength(18);
    expect(BUILTIN_VOICES.every(isBuiltinVoice)).toBe(true);
    expect(isBuiltinVoice('NATF9')).toBe(false);
    expect(isBuiltinVoice(undefined)).toBe(false);
  });
});
