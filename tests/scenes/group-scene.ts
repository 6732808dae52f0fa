/**
 * A scene of NPCs stepped engine-only, frame by frame on one timeline: each frame the hearing stage mixes what
 * every NPC hears (players, and other NPCs through the room's scene stage, server/scenes/scene-stage.ts: NPC
 * hearing and the floor), the engine steps every session in one batch with the floor's decisions, and each NPC's
 * output frame goes back to the scene. A scripted player may stand near and speak. Shared by tests/scenes/group.test.ts and bench/turns-group.bench.ts.
 */
import { FRAME_MS, FRAME_SAMPLES } from '../../protocol/frame.ts';
import type { Vec3 } from '../../protocol/messages.ts';
import type { Persona } from '../../server/engines/contract.ts';
import type { RehearsalEngine, UtteranceRecord } from '../../server/engines/rehearsal/engine.ts';
import { createParleyMetrics } from '../../server/metrics/parley-metrics.ts';
import type { NpcHearing } from '../../server/scenes/npc-hearing.ts';
import { SceneStage } from '../../server/scenes/scene-stage.ts';
import type { SceneFloor } from '../../server/scenes/floor.ts';
import { silentLogger } from '../../server/log.ts';
import { HearingStage, type HearingPlayer } from '../../server/voice/hearing-stage.ts';
import { testStream } from '../support/npc-stream.ts';
import { stubIntake } from '../support/intake.ts';

export interface SceneNpc {
  id: string;
  persona: Persona;
  position: Vec3;
  facing: Vec3;
  hearsNpcs?: boolean | string[];
  npcTurns?: number;
}

export interface ScenePlayer {
  /** eyes */
  position: Vec3;
  facing: Vec3;
  /** the player's voice on the scene timeline, from frame 0 */
  voice: Float32Array;
}

export interface SceneRun {
  /** every utterance of every NPC, on the scene's frame timeline, in start order */
  utterances: (UtteranceRecord & { npc: string; end: number })[];
  frames: number;
  hearing: NpcHearing;
  floor: SceneFloor;
  /** the floor's addressee of the player's turn, each frame the player was heard ('' otherwise) */
  addressee: string[];
}

/** the scripted player's session id */
export const PLAYER = 'player';

/**
 * Run `frames` frames of a scene. `player(frame)` may bring a player in at any frame (null: none yet).
 * `floor: false` leaves the floor's decisions out of the steps (the baseline: every NPC answers what it hears).
 */
export async function runScene(engine: RehearsalEngine, npcs: SceneNpc[], frames: number, player?: (frame: number) => ScenePlayer | null, opts: { floor?: boolean } = {}): Promise<SceneRun> {
  const streams = npcs.map((n) => {
    const s = testStream(n.id, { position: n.position, facing: n.facing, persona: n.persona });
    s.earHeight = 1.6;
    if (n.hearsNpcs !== undefined) s.def.hearsNpcs = n.hearsNpcs;
    if (n.npcTurns !== undefined) s.def.npcTurns = n.npcTurns;
    return s;
  });
  const sessions: number[] = [];
  for (const s of streams) {
    const id = await engine.open(s.def.persona);
    await engine.ready(id);
    s.open();
    s.opened(id);
    sessions.push(id);
  }
  const scene = new SceneStage({ leadFrames: engine.textLeadFrames, tell: () => {}, log: silentLogger });
  const stage = new HearingStage(createParleyMetrics());
  scene.attach(stage);
  const addressee: string[] = [];
  for (let f = 0; f < frames; f++) {
    const p = player?.(f) ?? null;
    const players: HearingPlayer[] = p
      ? [{
          position: p.position,
          facing: p.facing,
          intake: stubIntake(() => slice(p.voice, f)),
          state: { heardBy: '', id: PLAYER },
        }]
      : [];
    scene.beginTick(true, streams);
    stage.run(players, streams);
    scene.afterHearing(true, streams);
    addressee.push(scene.floor.addresseeOf(PLAYER));
    const outs = await engine.step(streams.map((s, i) => ({ session: sessions[i]!, input: s.input.slice(), floorElsewhere: opts.floor !== false && s.floorElsewhere })));
    streams.forEach((s, i) => {
      const out = outs[i]!;
      const events = s.heard(out, s.input);
      scene.output(s, s.frameIndex, out.output, out.text, events, []);
      s.frameIndex++;
    });
  }
  const utterances = streams
    // end: where its voice stopped for good (a line paused for a voice and then given up ended at the pause)
    .flatMap((s, i) => engine.groundTruth(sessions[i]!).map((r) => ({ ...r, npc: s.id, end: r.endFrame ?? r.interruptedAt ?? r.startFrame + r.frames })))
    .filter((u) => u.startFrame >= 0)
    .sort((a, b) => a.startFrame - b.startFrame);
  for (const id of sessions) await engine.close(id);
  return { utterances, frames, hearing: scene.npcHearing, floor: scene.floor, addressee };
}

function slice(x: Float32Array, frame: number): Float32Array {
  const out = new Float32Array(FRAME_SAMPLES);
  const from = frame * FRAME_SAMPLES;
  if (from < x.length) out.set(x.subarray(from, Math.min(x.length, from + FRAME_SAMPLES)));
  return out;
}

export const framesToMs = (f: number) => f * FRAME_MS;

/** Whether an utterance's voice sounds in frame f: started, not ended, not held silent in a pause for a voice. */
export function audibleAt(u: SceneRun['utterances'][number], f: number): boolean {
  return u.startFrame <= f && f < u.end && !(u.holds ?? []).some((h) => h.from < f && (h.to < 0 || f < h.to));
}

/** NPC-to-NPC turn figures of a run: gaps and overlaps between consecutive utterances of different NPCs, yields. */
export function exchangeFigures(run: SceneRun) {
  const u = run.utterances.filter((x) => x.kind !== 'backchannel');
  // a turn change: an NPC starts after the last one to stop was another NPC; the gap runs from that stop
  const gaps: number[] = [];
  let lastEnd = -Infinity;
  let lastNpc = '';
  for (const x of u) {
    if (lastNpc && x.npc !== lastNpc && x.startFrame >= lastEnd) gaps.push(framesToMs(x.startFrame - lastEnd));
    if (x.end > lastEnd) {
      lastEnd = x.end;
      lastNpc = x.npc;
    }
  }
  let overlapFrames = 0;
  for (let f = 0; f < run.frames; f++) if (run.utterances.filter((x) => audibleAt(x, f)).length > 1) overlapFrames++;
  const last = u.at(-1);
  return {
    utterances: u.length,
    byNpc: Object.fromEntries([...new Set(u.map((x) => x.npc))].map((n) => [n, u.filter((x) => x.npc === n).length])),
    gapsMs: gaps,
    overlapMs: framesToMs(overlapFrames),
    yields: u.filter((x) => x.interruptedAt !== undefined).map((x) => x.npc),
    /** when the exchange fell silent for good (ms) */
    endsAtMs: last ? framesToMs(last.end) : 0,
  };
}

export const median = (xs: number[]) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
