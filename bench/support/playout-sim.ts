/**
 * The plugin's playback path in Node, on the client's clock: the NPC frames and `interrupted`/`paused` events as the
 * player received them (arrival times in ms), fed to the plugin's own PlayoutBuffer, which a simulated audio
 * thread reads every render quantum (128 samples at 48 kHz = 64 stream samples at 24 kHz, 2.67 ms), as the
 * playback worklet does. An `interrupted` or `paused` event flushes the buffer when it arrives (the plugin's flush). The
 * result is the NPC's voice as it leaves the speaker, on the player's timeline, and where each frame started
 * playing: the samples-played clock. Not included: the worklet's resampler and output FIFO (under 2 ms) and the
 * audio device's own output latency.
 */
import { FRAME_SAMPLES, SAMPLE_RATE } from '../../protocol/frame.ts';
import { PlayoutBuffer, type PlayoutBufferOptions } from '../../plugin/dsp/playout-buffer.ts';

export interface Arrival {
  at: number;
  i: number;
  samples: Float32Array;
}

export interface PlayedOut {
  /** what left the speaker, sample 0 at t0 */
  track: Float32Array;
  /** frame index → timeline sample where its first sample played */
  startedAt: Map<number, number>;
  /** ms each played frame waited between arrival and its first sample playing */
  waits: number[];
  /** playback ran dry mid-sound for a late frame: an audible gap */
  underruns: number;
  /** playback ran dry in silence for a late frame: inaudible, resumed at once */
  lateInSilence: number;
  /** frames that never came while playback waited for them (dropped by the link): concealed, not underruns */
  lost: number;
  concealed: number;
  minutes: number;
  /** the buffer's target (ms) sampled once per frame while playing */
  targets: number[];
}

const QUANTUM = 64;

export function playOut(arrivals: Arrival[], flushes: number[], t0: number, endAt: number, opts: PlayoutBufferOptions = {}): PlayedOut {
  const jb = new PlayoutBuffer(opts);
  const qMs = (QUANTUM / SAMPLE_RATE) * 1000;
  const n = Math.max(0, Math.ceil((endAt - t0) / qMs));
  const track = new Float32Array(n * QUANTUM);
  const startedAt = new Map<number, number>();
  const arrivedAt = new Map<number, number>();
  const waits: number[] = [];
  const targets: number[] = [];
  const events = [
    ...arrivals.map((a) => ({ at: a.at, a: a as Arrival | null })),
    ...flushes.map((at) => ({ at, a: null as Arrival | null })),
  ].sort((x, y) => x.at - y.at);
  let e = 0;
  const out = new Float32Array(QUANTUM);
  for (let q = 0; q < n; q++) {
    const now = t0 + q * qMs;
    for (; e < events.length && events[e]!.at <= now; e++) {
      const ev = events[e]!;
      if (ev.a) {
        jb.push(ev.a.i, ev.a.samples.slice(), ev.a.at);
        arrivedAt.set(ev.a.i, ev.a.at);
      } else jb.flush();
    }
    const r = jb.read(out, now);
    track.set(out, q * QUANTUM);
    if (r > 0) {
      const p1 = jb.position;
      const p0 = p1 - r;
      for (let k = Math.ceil(p0 / FRAME_SAMPLES); k * FRAME_SAMPLES < p1; k++) {
        const s = q * QUANTUM + (k * FRAME_SAMPLES - p0);
        startedAt.set(k, s);
        const a = arrivedAt.get(k);
        if (a !== undefined) {
          waits.push(t0 + (s / SAMPLE_RATE) * 1000 - a);
          targets.push(jb.targetMs);
        }
      }
    }
  }
  return { track, startedAt, waits, underruns: jb.stats.underruns, lateInSilence: jb.stats.lateInSilence, lost: jb.stats.lost, concealed: jb.stats.concealed, minutes: (endAt - t0) / 60_000, targets };
}
