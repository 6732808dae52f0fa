import { describe, expect, it } from 'vitest';
import { levelFromAnalyzer } from '../../../plugin/lipsync/level.ts';

describe('levelFromAnalyzer', () => {
  it('levelFromAnalyzer enables the analyzer and reads RMS', async () => {
    let enabled = false;
    const analyzer = {
      get isEnabled() {
        return enabled;
      },
      enableAsync: async () => {
        enabled = true;
      },
      getFloatTimeDomainData: () => Float32Array.from({ length: 256 }, (_, i) => (i % 2 ? 0.5 : -0.5)),
    };
    const level = levelFromAnalyzer(analyzer);
    expect(level()).toBe(0);
    await Promise.resolve();
    expect(level()).toBeCloseTo(0.5, 6);
  });
});
