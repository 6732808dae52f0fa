import { describe, expect, it } from 'vitest';
import { hearingWeight } from '../../server/voice/hearing.ts';

describe('hearing', () => {
  const npc = { position: [0, 0, 0] as [number, number, number], facing: [0, 0, 1] as [number, number, number], hearingRadius: 10 };
  it('weights by inverse distance and by whether the player faces the NPC', () => {
    expect(hearingWeight(npc, { position: [0, 0, 0.5], facing: [0, 0, -1] })).toBeCloseTo(1);
    expect(hearingWeight(npc, { position: [0, 0, 4], facing: [0, 0, -1] })).toBeCloseTo(0.25);
    expect(hearingWeight(npc, { position: [0, 0, 4], facing: [0, 0, 1] })).toBeCloseTo(0.25 * 0.3); // back turned
    expect(hearingWeight(npc, { position: [0, 0, 4], facing: [1, 0, 0] })).toBeCloseTo(0.25 * 0.65); // sideways
  });
  it('fades to zero at the hearing radius and is zero beyond', () => {
    const at = (d: number) => hearingWeight(npc, { position: [d, 0, 0], facing: [-1, 0, 0] });
    expect(at(8)).toBeCloseTo(1 / 8);
    expect(at(9)).toBeLessThan(1 / 9);
    expect(at(9)).toBeGreaterThan(0);
    expect(at(9.999)).toBeLessThan(1e-4);
    expect(at(10)).toBe(0);
    expect(at(50)).toBe(0);
  });
});
