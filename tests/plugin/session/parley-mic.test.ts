/** parley.mic: settings as properties, push-to-talk keys, and what is sent when (a stand-in link records it). */
import { afterEach, describe, expect, it } from 'vitest';
import type { ParleyLink } from '../../../plugin/net/parley-link.ts';
import { ParleyMic } from '../../../plugin/session/parley-mic.ts';
import type { MicLevelEvent } from '../../../plugin/types.ts';
import { tone } from '../../support/audio.ts';

/** Stands in for ParleyLink: up or down, and the voice frames it was asked to send. */
function fakeLink(ready = true) {
  const sent: Array<{ seq: number; codec: string; bytes: number }> = [];
  const link = {
    ready,
    sendVoice(seq: number, _t: number, codec: string, data: Uint8Array) {
      if (!link.ready) return false;
      sent.push({ seq, codec, bytes: data.length });
      return true;
    },
  };
  return { link: link as unknown as ParleyLink & { ready: boolean }, sent };
}

/** Stands in for the browser window: keyboard and blur listeners. */
function fakeWindow() {
  const listeners = new Map<string, Set<(e: unknown) => void>>();
  const win = {
    addEventListener: (type: string, fn: (e: unknown) => void) => listeners.set(type, (listeners.get(type) ?? new Set()).add(fn)),
    removeEventListener: (type: string, fn: (e: unknown) => void) => listeners.get(type)?.delete(fn),
    fire: (type: string, e: unknown = {}) => listeners.get(type)?.forEach((fn) => fn(e)),
    count: () => [...listeners.values()].reduce((n, s) => n + s.size, 0),
  };
  (globalThis as { window?: unknown }).window = win;
  return win;
}

/** One captured 80 ms frame, as MicCapture hands it over. */
function frame(mic: ParleyMic, seq: number): void {
  const samples = tone(1920, 440, 0.25);
  (mic as unknown as { onFrame(f: unknown): void }).onFrame({ seq, t: seq * 80, samples, rms: 0.25 / Math.SQRT2 });
}

afterEach(() => {
  delete (globalThis as { window?: unknown }).window;
});

describe('ParleyMic', () => {
  it('validates its settings', () => {
    const mic = new ParleyMic(() => null, () => {});
    expect(mic.mode).toBe('open-mic');
    expect(mic.muted).toBe(false);
    mic.mode = 'push-to-talk';
    expect(mic.mode).toBe('push-to-talk');
    expect(() => (mic.mode = 'always' as never)).toThrow(/open-mic/);
    expect(mic.mode).toBe('push-to-talk');
    expect(() => (mic.pushToTalkKey = '')).toThrow(/KeyboardEvent.code/);
    expect(new ParleyMic(() => null, () => {}, { mode: 'push-to-talk', muted: true }).muted).toBe(true);
  });

  it('sends each frame while welcomed, unmuted and talking, and reports every level', () => {
    const { link, sent } = fakeLink();
    const mic = new ParleyMic(() => link, () => {});
    const levels: MicLevelEvent[] = [];
    mic.onLevelObservable.add((e) => levels.push(e));
    frame(mic, 0); // no codec yet: no Welcome
    mic._useCodec('pcm16');
    frame(mic, 1);
    mic.muted = true;
    frame(mic, 2);
    mic.muted = false;
    mic.mode = 'push-to-talk';
    frame(mic, 3);
    mic.talking = true;
    frame(mic, 4);
    link.ready = false; // socket down: nothing is queued
    frame(mic, 5);
    expect(sent).toEqual([
      { seq: 1, codec: 'pcm16', bytes: 3840 },
      { seq: 4, codec: 'pcm16', bytes: 3840 },
    ]);
    expect(mic.sentFrames).toBe(2);
    expect(levels.map((l) => l.sent)).toEqual([false, true, false, false, true, false]);
    expect(levels[1].dbfs).toBeCloseTo(20 * Math.log10(0.25 / Math.SQRT2), 1);
  });

  it('push-to-talk key: held talks, released or window blur stops; replacing or disposing removes the listeners', () => {
    const win = fakeWindow();
    const mic = new ParleyMic(() => null, () => {}, { mode: 'push-to-talk', pushToTalkKey: 'KeyV' });
    expect(mic.pushToTalkKey).toBe('KeyV');
    win.fire('keydown', { code: 'KeyV', repeat: false });
    expect(mic.talking).toBe(true);
    win.fire('keyup', { code: 'KeyV' });
    expect(mic.talking).toBe(false);
    win.fire('keydown', { code: 'KeyX', repeat: false });
    expect(mic.talking).toBe(false);
    win.fire('keydown', { code: 'KeyV', repeat: false });
    win.fire('blur');
    expect(mic.talking).toBe(false);
    expect(win.count()).toBe(3);
    mic.pushToTalkKey = 'KeyT';
    expect(win.count()).toBe(3);
    win.fire('keydown', { code: 'KeyV', repeat: false });
    expect(mic.talking).toBe(false);
    win.fire('keydown', { code: 'KeyT', repeat: false });
    expect(mic.talking).toBe(true);
    mic._dispose();
    expect(win.count()).toBe(0);
    expect(mic.pushToTalkKey).toBeNull();
  });
});
