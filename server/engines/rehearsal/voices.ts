/**
 * The 18 builtin voice ids as espeak voices. Each has its own accent/variant, speaking rate and a pitch chosen
 * so the voices' median fundamentals sit about 8% apart (measured, see docs/rehearsal-engine.md):
 * men 85–158 Hz, women 168–300 Hz. espeak cannot clone a voice, so a WAV voice gets one of these by hash.
 */
import { BUILTIN_VOICES, type BuiltinVoice, type VoiceRef } from '../../persona/persona.ts';
import type { VoiceProfile } from './tts.ts';

export const VOICE_PROFILES: Record<BuiltinVoice, VoiceProfile & { f0: number }> = {
  NATF0: { espeak: 'gmw/en-US+f1', pitch: 68, range: 50, rate: 165, f0: 209 },
  NATF1: { espeak: 'gmw/en-GB-x-rp+f2', pitch: 48, range: 50, rate: 160, f0: 181 },
  NATF2: { espeak: 'gmw/en-US+f3', pitch: 71, range: 50, rate: 175, f0: 241 },
  NATF3: { espeak: 'gmw/en+f4', pitch: 48, range: 50, rate: 170, f0: 168 },
  VARF0: { espeak: 'gmw/en-GB-scotland+f5', pitch: 49, range: 50, rate: 160, f0: 194 },
  VARF1: { espeak: 'gmw/en-029+f2', pitch: 69, range: 50, rate: 180, f0: 224 },
  VARF2: { espeak: 'gmw/en-US-nyc+f3', pitch: 78, range: 50, rate: 185, f0: 259 },
  VARF3: { espeak: 'gmw/en-GB-x-gbclan+f1', pitch: 94, range: 50, rate: 170, f0: 279 },
  VARF4: { espeak: 'gmw/en-GB-x-gbcwmd+f5', pitch: 88, range: 50, rate: 150, f0: 300 },
  NATM0: { espeak: 'gmw/en-US+m1', pitch: 75, range: 50, rate: 170, f0: 116 },
  NATM1: { espeak: 'gmw/en-GB-x-rp+m3', pitch: 50, range: 50, rate: 160, f0: 99 },
  NATM2: { espeak: 'gmw/en-US+m7', pitch: 81, range: 50, rate: 175, f0: 135 },
  NATM3: { espeak: 'gmw/en+m2', pitch: 59, range: 50, rate: 165, f0: 107 },
  VARM0: { espeak: 'gmw/en-GB-scotland+m3', pitch: 43, range: 50, rate: 155, f0: 92 },
  VARM1: { espeak: 'gmw/en-029+m6', pitch: 74, range: 50, rate: 180, f0: 125 },
  VARM2: { espeak: 'gmw/en-US-nyc+m5', pitch: 87, range: 50, rate: 185, f0: 146 },
  VARM3: { espeak: 'gmw/en-GB-x-gbclan+m4', pitch: 46, range: 50, rate: 150, f0: 85 },
  VARM4: { espeak: 'gmw/en-GB-x-gbcwmd+m2', pitch: 91, range: 50, rate: 170, f0: 158 },
};

/** FNV-1a, 32 bit: a stable hash that does not depend on the platform. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export interface EspeakVoice {
  id: BuiltinVoice;
  profile: VoiceProfile;
  /** set when the persona asked for something this engine cannot do */
  note?: string;
}

/** The espeak voice the rehearsal engine speaks a persona's voice reference with (a WAV voice maps to a built-in one). */
export function espeakVoiceFor(voice: VoiceRef | undefined): EspeakVoice {
  if (voice?.kind === 'builtin' && voice.id in VOICE_PROFILES) return { id: voice.id, profile: VOICE_PROFILES[voice.id] };
  if (voice?.kind === 'wav' && typeof voice.path === 'string') {
    const id = BUILTIN_VOICES[hashString(voice.path) % BUILTIN_VOICES.length]!;
    return {
      id,
      profile: VOICE_PROFILES[id],
      note: `rehearsal engine cannot clone voices: ${voice.path} is spoken with builtin voice ${id}`,
    };
  }
  return { id: 'NATF0', profile: VOICE_PROFILES.NATF0, note: `unknown voice ${JSON.stringify(voice)}; using NATF0` };
}
