/** One NPC's stream: the seat's transitions, the status derived from it, and what reaches the synced state. */
import { describe, expect, it } from 'vitest';
import { FRAME_SAMPLES } from '../../protocol/frame.ts';
import { statusOf } from '../../server/sessions/seat.ts';
import { recordStatuses, testStream } from '../support/npc-stream.ts';
import { ERROR_DETAIL } from '../../server/sessions/npc-stream.ts';
import { tone } from '../support/audio.ts';

const quiet = () => new Float32Array(FRAME_SAMPLES);

describe('NPC stream seat', () => {
  it('moves idle → opening → live → idle and writes each status to the synced state', () => {
    const s = testStream('alex');
    const seen = recordStatuses(s);
    expect(s.state.status).toBe('idle');
    s.open();
    s.opened(7);
    expect(s.seat).toEqual({ kind: 'live', session: 7, speaking: false, failures: 0 });
    expect(s.close()).toBe(7);
    expect(seen).toEqual(['idle', 'warming', 'listening', 'idle']);
  });

  it('refuses a transition from the wrong seat, naming both', () => {
    const s = testStream('alex');
    expect(() => s.close()).toThrow(/'close' from seat 'idle'/);
    expect(() => s.opened(1)).toThrow(/'opened' from seat 'idle' \(allowed from opening\)/);
    s.open();
    expect(() => s.open()).toThrow(/'open' from seat 'opening'/);
  });

  it('counts failures across reopenings and clears them on the first good frame', () => {
    const s = testStream('alex');
    s.open();
    expect(s.fail('no model', 500)).toBeNull();
    expect(s.seat).toEqual({ kind: 'failed', message: 'no model', retryAt: 500, failures: 1 });
    expect(s.state.status).toBe('error');
    // the reason stays on the seat (above) and in the log; players read a generic detail (issue 13)
    expect(s.state.detail).toBe(ERROR_DETAIL);
    s.open();
    s.opened(3);
    expect(s.fail('died', 900)).toBe(3);
    expect(s.seat).toMatchObject({ kind: 'failed', failures: 2 });
    s.wait('engine at capacity (1 sessions)');
    expect(s.seat).toMatchObject({ kind: 'waiting', failures: 2 });
    expect(s.state.status).toBe('busy');
    s.open();
    s.opened(4);
    s.heard({ session: 4, output: quiet() }, quiet());
    expect(s.seat).toMatchObject({ kind: 'live', failures: 0 });
    expect(s.state.detail).toBe('');
  });

  it('speaking and listening follow the speech tracker', () => {
    const s = testStream('alex');
    s.open();
    s.opened(1);
    expect(s.heard({ session: 1, output: tone(FRAME_SAMPLES, 200, 0.3) }, quiet())).toEqual([{ e: 'speech-started', i: 0 }]);
    expect(s.state.status).toBe('speaking');
    for (let i = 0; i < 5; i++) s.heard({ session: 1, output: quiet() }, quiet());
    expect(s.state.status).toBe('listening');
  });

  it('passes on warming progress in steps of at least 5 points, and 100% always', () => {
    const s = testStream('alex');
    s.open();
    const seen: number[] = [];
    s.onPublished = () => seen.push(s.state.progress);
    for (let i = 1; i <= 100; i++) s.progress(i / 100);
    expect(seen.at(-1)).toBe(1);
    for (let i = 1; i < seen.length - 1; i++) expect(Math.fround(seen[i]!) - Math.fround(seen[i - 1]!)).toBeGreaterThanOrEqual(0.05);
    expect(seen.length).toBeGreaterThanOrEqual(15);
    expect(seen.length).toBeLessThanOrEqual(20);
    // a late report after the session was given up changes nothing
    s.fail('gone', 0);
    s.progress(0.5);
    expect(s.seat.kind).toBe('failed');
  });

  it('derives every status from the seat', () => {
    expect(statusOf({ kind: 'idle' })).toEqual({ status: 'idle', progress: 0, detail: '' });
    expect(statusOf({ kind: 'waiting', reason: 'full', notBefore: 0, failures: 0 })).toEqual({ status: 'busy', progress: 0, detail: 'full' });
    expect(statusOf({ kind: 'opening', progress: 0.4, failures: 0 })).toEqual({ status: 'warming', progress: 0.4, detail: '' });
    expect(statusOf({ kind: 'live', session: 1, speaking: true, failures: 0 }).status).toBe('speaking');
    expect(statusOf({ kind: 'failed', message: 'x', retryAt: 1, failures: 1 })).toEqual({ status: 'error', progress: 0, detail: 'x' });
  });
});
