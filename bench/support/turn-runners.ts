/**
 * Two ways to run the turn-taking bench's player scripts against an engine:
 *
 *   engine-only  every script's session steps in lockstep through `engine.step` (faster than real time); input
 *                frame k and output frame k share one timeline, as on the engine's own clock.
 *   server       a real Parley server around the engine, one room per script, each player a Colyseus client
 *                over WebSocket sending its voice in real time; the NPC's audio as it leaves the player's speaker
 *                through the plugin's playout buffer (the pipeline's share included), its text pieces where their
 *                frames played.
 */
import { FRAME_SAMPLES } from '../../protocol/frame.ts';
import type { DuplexEngine, Persona } from '../../server/engines/contract.ts';
import { SpeechTracker } from '../../server/sessions/speech-tracker.ts';
import { TestPlayer } from '../../tests/support/test-player.ts';
import { inlineNpcs, startTestServer } from '../../tests/support/test-server.ts';
import type { Recording } from './turn-metrics.ts';
import { playOut, type Arrival } from './playout-sim.ts';
import type { Heard, PlayerScript } from './turn-scenarios.ts';

const SR = 24_000;
const BLOCK = 480;
/** after the last act, keep listening this long */
const TAIL_FRAMES = 40;

/** A growing NPC track on the player's timeline, with the running talk/quiet state a listener perceives. */
export class HeardTrack implements Heard {
  data = new Float32Array(SR * 60);
  length = 0;
  private lastActive = -Infinity;
  private runStart = 0;
  private scanned = 0;

  /** Lay `x` down at sample `at` (or right after what is already there, if that is later). */
  put(x: Float32Array, at: number): number {
    const pos = Math.max(at, this.length);
    if (pos + x.length > this.data.length) {
      const grown = new Float32Array(Math.max(this.data.length * 2, pos + x.length + SR));
      grown.set(this.data.subarray(0, this.length));
      this.data = grown;
    }
    this.data.set(x, pos);
    this.length = pos + x.length;
    this.scan();
    return pos;
  }

  /** Silence up to `at` (nothing arrived yet). */
  advance(at: number) {
    if (at <= this.length) return;
    if (at > this.data.length) this.put(new Float32Array(0), at);
    this.length = at;
    this.scan();
  }

  private scan() {
    for (; this.scanned + BLOCK <= this.length; this.scanned += BLOCK) {
      let e = 0;
      for (let i = this.scanned; i < this.scanned + BLOCK; i++) e += this.data[i]! * this.data[i]!;
      if (Math.sqrt(e / BLOCK) > 0.01) {
        if (this.scanned - this.lastActive > 0.4 * SR) this.runStart = this.scanned;
        this.lastActive = this.scanned + BLOCK;
      }
    }
  }

  quietMs(): number {
    return this.lastActive === -Infinity ? Infinity : ((this.length - this.lastActive) / SR) * 1000;
  }

  talkingMs(): number {
    return this.quietMs() < 100 ? ((this.lastActive - this.runStart) / SR) * 1000 : 0;
  }

  audio(): Float32Array {
    return this.data.slice(0, this.length);
  }
}

class PlayerTrack {
  data = new Float32Array(SR * 60);
  length = 0;
  push(x: Float32Array) {
    if (this.length + x.length > this.data.length) {
      const grown = new Float32Array(this.data.length * 2);
      grown.set(this.data.subarray(0, this.length));
      this.data = grown;
    }
    this.data.set(x, this.length);
    this.length += x.length;
  }
}

export async function runEngineOnly(engine: DuplexEngine, persona: Persona, scripts: PlayerScript[]): Promise<Recording[]> {
  const sessions = await Promise.all(scripts.map((_, i) => engine.open({ ...persona, id: `${persona.id}-${i}`, seed: i + 1 })));
  const ready = (engine as { ready?: (s: unknown) => Promise<void> }).ready;
  if (ready) await Promise.all(sessions.map((s) => ready.call(engine, s).catch(() => undefined)));
  const heard = scripts.map(() => new HeardTrack());
  const players = scripts.map(() => new PlayerTrack());
  const pieces = scripts.map(() => [] as { at: number; piece: string }[]);
  // The server's own speech events on the engine's timeline: its tracker passes on (or infers) interruptions.
  const trackers = scripts.map(() => new SpeechTracker());
  const yields = scripts.map(() => [] as number[]);
  const tails = scripts.map(() => TAIL_FRAMES);
  try {
    for (let frame = 0; tails.some((t) => t > 0); frame++) {
      const inputs = scripts.map((s, i) => {
        const x = s.next(FRAME_SAMPLES, heard[i]!);
        if (s.done) tails[i]!--;
        players[i]!.push(x);
        return { session: sessions[i]!, input: x };
      });
      const outs = await engine.step(inputs);
      outs.forEach((o, i) => {
        const at = heard[i]!.put(o.output, frame * FRAME_SAMPLES);
        if (o.text) pieces[i]!.push({ at, piece: o.text });
        for (const e of trackers[i]!.update(frame, o.output, o.text, inputs[i]!.input, o.events)) if (e.e === 'interrupted') yields[i]!.push(e.i * FRAME_SAMPLES);
      });
      if (frame > 20 * 60 * 12.5) throw new Error('turn bench: scripts did not finish in 20 minutes of audio');
    }
  } finally {
    await Promise.all(sessions.map((s) => engine.close(s).catch(() => undefined)));
  }
  return scripts.map((s, i) => ({ npc: heard[i]!.audio(), pieces: pieces[i]!, player: players[i]!.data.slice(0, players[i]!.length), said: s.said, yields: yields[i]! }));
}

/**
 * What the real-time path did to the voice the engine heard, added up over a run: ticks whose engine step was skipped
 * (the previous step overran), player voice slots with no frame in time (late, lost, or held back to widen the uplink
 * buffer: concealed with a fading repeat of the last frame), and frames trimmed to take a pile-up's delay back out.
 * Each moves what the engine hears by a frame or more, so a turn can be judged differently than engine-only.
 */
export interface PipelineStats {
  ticksLate: number;
  framesConcealed: number;
  framesTrimmed: number;
  /** player-minutes of script played through the server */
  playerMinutes: number;
}

export function emptyPipelineStats(): PipelineStats {
  return { ticksLate: 0, framesConcealed: 0, framesTrimmed: 0, playerMinutes: 0 };
}

export async function runThroughServer(engine: DuplexEngine, persona: Persona, scripts: PlayerScript[], stats?: PipelineStats): Promise<Recording[]> {
  const rooms = Object.fromEntries(scripts.map((_, i) => [`turns${i}`, { npcs: [{ sheet: `npc${i}`, position: [0, 0, 0] as [number, number, number], facing: [0, 0, 1] as [number, number, number] }] }]));
  const npcs = Object.fromEntries(
    scripts.map((_, i) => [`npc${i}`, { name: persona.name, hearingRadius: 6, audibleRadius: 12, persona: { ...persona, id: `npc${i}`, seed: i + 1 } }]),
  );
  const running = await startTestServer(engine, { npcs: inlineNpcs(npcs), rooms });
  const players: TestPlayer[] = [];
  try {
    // Join one at a time (a loaded machine drops some of a burst of joins), then all talk at once.
    for (let i = 0; i < scripts.length; i++) players.push(await joined(running.url, `turns${i}`));
    // Lines are synthesised as a session opens, greeting first; on a loaded machine the rest take seconds. A player
    // walking up gives them that time; the bench does too, so late synthesis is not measured as late turns.
    await new Promise((r) => setTimeout(r, Number(process.env.PARLEY_TURNS_WARMUP_MS ?? 15_000)));
    const m = running.server.metrics;
    const trimmed = () => m.framesDropped.get({ stream: 'player_voice', reason: 'trimmed' });
    const before = { late: m.ticksLate.get(), missing: m.framesMissing.get(), trimmed: trimmed() };
    const recs = await Promise.all(scripts.map((s, i) => playOne(players[i]!, `npc${i}`, s)));
    if (stats) {
      stats.ticksLate += m.ticksLate.get() - before.late;
      stats.framesConcealed += m.framesMissing.get() - before.missing;
      stats.framesTrimmed += trimmed() - before.trimmed;
      stats.playerMinutes += recs.reduce((t, r) => t + r.player.length / SR / 60, 0);
    }
    return recs;
  } finally {
    await Promise.all(players.map((p) => p.leave()));
    await running.stop();
  }
}

async function joined(url: string, room: string): Promise<TestPlayer> {
  for (let attempt = 1; ; attempt++) {
    const player = new TestPlayer(url, 'pcm16');
    try {
      await player.join(room);
      await player.hello();
      // In place from the start: an NPC opens its session (and synthesises its lines) for a player it can hear.
      player.pose([0, 0, 1.2], [0, 0, -1]);
      return player;
    } catch (err) {
      await player.leave();
      if (attempt >= 3) throw err;
    }
  }
}

async function playOne(player: TestPlayer, npc: string, script: PlayerScript): Promise<Recording> {
  player.pose([0, 0, 1.2], [0, 0, -1]);
  const heard = new HeardTrack();
  const myTrack = new PlayerTrack();
  // The timeline starts now: what came during the warm-up (the greeting, and the silence after it) is not part of
  // it. The player's own records (arrival times on Date.now()) are read from here on.
  const from = { texts: player.texts.length, events: player.events.length };
  const arrivals: Arrival[] = [];
  let scanned = player.frames.length;
  /** This NPC's frames that came since the last call, kept for the playout and laid down for the script. */
  const take = (t0: number) => {
    for (; scanned < player.frames.length; scanned++) {
      const f = player.frames[scanned]!;
      if (f.npc !== npc) continue;
      arrivals.push(f);
      // What the script reacts to: the frames as they arrived (it decides when to talk over, not what is measured).
      heard.put(f.samples, Math.round(((f.at - t0) * SR) / 1000));
    }
  };
  // Player sample s happens at t0 + s / 24 ms; frame n is sent when it has been "captured", at t0 + 80 (n + 1).
  const t0 = Date.now() + 200;
  let tail = TAIL_FRAMES;
  try {
    for (let n = 0; tail > 0; n++) {
      const due = t0 + 80 * (n + 1);
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      take(t0);
      heard.advance(Math.round(((Date.now() - t0) * SR) / 1000));
      const x = script.next(FRAME_SAMPLES, heard);
      myTrack.push(x);
      player.voiceFrame(x);
      if (script.done) tail--;
      if (n > 20 * 60 * 12.5) throw new Error('turn bench: script did not finish in 20 minutes');
    }
    await new Promise((r) => setTimeout(r, 300));
    take(t0);
    // What is measured: the NPC's voice as it leaves the player's speaker, through the plugin's own playout buffer
    // (its adaptive target, draining and the flush on `interrupted` and `paused`), and each word where its frame played.
    // Laying frames down where they arrived instead, as this runner once did, never drains: one late frame
    // delays everything after it for the rest of the run.
    const mine = player.events.slice(from.events).filter((e) => e.npc === npc);
    const flushes = mine.filter((e) => e.e === 'interrupted' || e.e === 'paused').map((e) => e.at);
    const yields = mine.filter((e) => e.e === 'interrupted').map((e) => Math.round(((e.at - t0) * SR) / 1000));
    const played = playOut(arrivals, flushes, t0, Date.now());
    const pieces = player.texts
      .slice(from.texts)
      .filter((t) => t.npc === npc && played.startedAt.has(t.i))
      .map((t) => ({ at: played.startedAt.get(t.i)!, piece: t.piece }));
    return { npc: played.track, pieces, player: myTrack.data.slice(0, myTrack.length), said: script.said, yields };
  } finally {
    player.stopVoice();
  }
}
