import { describe, expect, it } from 'vitest';
import { PoseReporter } from '../../../plugin/net/pose-reporter.ts';
import type { Vec3 } from '../../../protocol/messages.ts';

function reporter(opts = {}) {
  const sent: Array<{ p: Vec3; f: Vec3 }> = [];
  return { r: new PoseReporter((p, f) => sent.push({ p, f }), opts), sent };
}

describe('PoseReporter', () => {
  it('sends the first pose, normalised, then nothing while the camera stands still', () => {
    const { r, sent } = reporter();
    expect(r.update(0, [1, 2, 3], [0, 0, 2])).toBe(true);
    expect(sent[0]).toEqual({ p: [1, 2, 3], f: [0, 0, 1] });
    for (let t = 100; t < 1900; t += 16) r.update(t, [1, 2, 3], [0, 0, 1]);
    expect(sent).toHaveLength(1);
  });

  it('sends on movement or turning, at most maxHz times a second', () => {
    const { r, sent } = reporter({ maxHz: 10 });
    let x = 0;
    for (let t = 0; t < 1000; t += 16) r.update(t, [(x += 0.1), 0, 0], [0, 0, 1]); // walking, 60 fps
    expect(sent.length).toBeGreaterThanOrEqual(9);
    expect(sent.length).toBeLessThanOrEqual(10);
    const { r: r2, sent: s2 } = reporter();
    r2.update(0, [0, 0, 0], [0, 0, 1]);
    r2.update(200, [0, 0, 0], [Math.sin(0.01), 0, Math.cos(0.01)]); // 0.6°: too small
    r2.update(400, [0, 0, 0], [Math.sin(0.2), 0, Math.cos(0.2)]); // 11°
    expect(s2).toHaveLength(2);
  });

  it('re-sends a still pose every keepAliveMs, and at once after invalidate()', () => {
    const { r, sent } = reporter({ keepAliveMs: 2000 });
    r.update(0, [0, 0, 0], [0, 0, 1]);
    r.update(1500, [0, 0, 0], [0, 0, 1]);
    r.update(2100, [0, 0, 0], [0, 0, 1]);
    expect(sent).toHaveLength(2);
    r.invalidate();
    r.update(2150, [0, 0, 0], [0, 0, 1]);
    expect(sent).toHaveLength(3);
  });

  it('ignores non-finite positions and a zero facing', () => {
    const { r, sent } = reporter();
    expect(r.update(0, [Number.NaN, 0, 0], [0, 0, 1])).toBe(false);
    expect(r.update(0, [0, 0, 0], [0, 0, 0])).toBe(false);
    expect(sent).toHaveLength(0);
  });
});
