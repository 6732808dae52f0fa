import { describe, expect, it } from 'vitest';
import { BUILTIN_VOICES } from '../../server/persona/persona.ts';
import { EspeakTts } from '../../server/engines/rehearsal/tts.ts';
import { VOICE_PROFILES, espeakVoiceFor } from '../../server/engines/rehearsal/voices.ts';
import { medianF0 } from './audio-tools.ts';

describe('rehearsal voices', () => {
  it('speaks each of the 18 builtin voices at its own pitch (every pair ≥ 4% apart, measured)', async () => {
    const tts = await EspeakTts.create();
    const text = 'The reactor core is failing, and we have maybe an hour to fix it.';
    const measured = BUILTIN_VOICES.map((id) => ({ id, f0: medianF0(tts.synthesize(VOICE_PROFILES[id], text).samples) }));
    for (const m of measured) {
      // Women above men, each near the pitch its profile was tuned for.
      expect(m.f0).toBeGreaterThan(m.id.includes('F') ? 160 : 75);
      expect(m.f0).toBeLessThan(m.id.includes('F') ? 320 : 165);
      expect(Math.abs(m.f0 / VOICE_PROFILES[m.id].f0 - 1)).toBeLessThan(0.05);
    }
    const sorted = [...measured].sort((a, b) => a.f0 - b.f0);
    for (let i = 1; i < sorted.length; i++) {
      expect(sorted[i]!.f0 / sorted[i - 1]!.f0, `${sorted[i - 1]!.id} vs ${sorted[i]!.id}`).toBeGreaterThan(1.04);
    }
  }, 60_000);

  it('gives a WAV voice a builtin voice by a stable hash, and says it cannot clone', () => {
    const a = espeakVoiceFor({ kind: 'wav', path: 'voices/captain.wav' });
    const b = espeakVoiceFor({ kind: 'wav', path: 'voices/captain.wav' });
    const c = espeakVoiceFor({ kind: 'wav', path: 'voices/engineer.wav' });
    expect(a.id).toBe(b.id);
    expect(a.note).toMatch(/cannot clone voices/);
    expect(BUILTIN_VOICES).toContain(c.id);
    expect(espeakVoiceFor({ kind: 'builtin', id: 'VARM2' }).profile).toBe(VOICE_PROFILES.VARM2);
  });
});
