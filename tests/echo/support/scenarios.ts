/**
 * The echo measurements the tests and bench/echo.bench.ts share: self-interruption over minutes of NPC speech,
 * double talk (the player cutting in over the NPC), and the NPC's own level in its hearing mix.
 */
import { meanSquare } from '../../../protocol/dsp/level.ts';
import { FRAME_SAMPLES, SAMPLE_RATE } from '../../../protocol/frame.ts';
import { EchoLoop, monologuePersona, RehearsalEngine, type LoopOptions } from './loop.ts';
import { NPC_LINES, playerSpeech } from './signals.ts';
import { seeded } from './room.ts';
import { percentile } from '../../../bench/support/percentile.ts';

const frameMs = (FRAME_SAMPLES / SAMPLE_RATE) * 1000;
const dbfs = (meanSquare: number) => 10 * Math.log10(meanSquare + 1e-20);

/**
 * The rehearsal engine for the closed loops. They run on simulated time, as fast as the machine goes, so the engine
 * waits for each line's synthesis however long it takes instead of its real-time 150 ms (after which a line not
 * yet synthesised starts a few frames later): with the wall clock in the loop, the NPC's lines started at
 * different frames from run to run and with the machine's load, and the figures moved with them.
 */
export function loopEngine(): Promise<RehearsalEngine> {
  return RehearsalEngine.create({ tts: 'inline', quiet: true, ttsWaitMs: 60_000 });
}

/** nearest rank, as the benches read percentiles (re-exported for the echo tests and bench) */
export { percentile };

export interface SelfTalkResult {
  /** seconds the NPC was audibly speaking */
  npcSpeechS: number;
  /** 'interrupted' events: with no player speech, every one is the NPC taking itself for a player */
  falseBargeIns: number;
  /** utterances the NPC started in answer to a "player turn" that was its own voice */
  selfAnswers: number;
  /** times it paused for "a player" (its own voice) and carried on: a hesitation, not a barge-in, still a hiccup */
  falsePauses: number;
  /** level of the NPC's own voice in its hearing mix while its echo arrives: over all such frames, and the loudest 5 % */
  heardDbfs: number;
  heardP95Dbfs: number;
}

/**
 * NPC speech into the speakers and no player at all, for at least `seconds`: monologue sessions one after
 * another (a rehearsal NPC speaks unprompted only to greet), each closed a second after it falls silent.
 */
export async function selfTalk(engine: RehearsalEngine, seconds: number, loop: Omit<LoopOptions, 'player'>): Promise<SelfTalkResult> {
  let speechFrames = 0;
  let falseBargeIns = 0;
  let selfAnswers = 0;
  let falsePauses = 0;
  const levels: number[] = [];
  let sum = 0;
  let l: EchoLoop | null = null; // one player, one room, one canceller and gate across the NPC's sessions
  for (let seed = 0; speechFrames * frameMs < seconds * 1000; seed++) {
    const id = await engine.open(monologuePersona(seed, rotate(NPC_LINES, seed)));
    await engine.ready(id);
    if (l) l.session = id;
    else l = new EchoLoop(engine, id, loop);
    let quiet = 0;
    let spoke = false;
    const echoLag = (loop.playoutFrames ?? 3) + (loop.uplinkFrames ?? 3) + 4; // the room's delay and tail too
    let sinceSpeech = Infinity;
    for (let f = 0; f < 4000; f++) {
      const fr = await l.step();
      const loud = meanSquare(fr.out) > 1e-5;
      if (loud) (speechFrames++, (spoke = true), (sinceSpeech = 0));
      else sinceSpeech++;
      falseBargeIns += fr.events.filter((e) => e === 'interrupted').length;
      if (sinceSpeech <= echoLag && spoke) {
        const ms = meanSquare(fr.heard);
        levels.push(dbfs(ms));
        sum += ms;
      }
      quiet = loud ? 0 : quiet + 1;
      if (spoke && quiet > 1000 / frameMs + echoLag) break;
    }
    selfAnswers += engine.groundTruth(id).filter((r) => r.kind !== 'greeting' && r.startFrame >= 0).length;
    falsePauses += engine.groundTruth(id).reduce((n, r) => n + (r.resumed ?? 0), 0);
    await engine.close(id);
  }
  l?.dispose();
  return {
    npcSpeechS: (speechFrames * frameMs) / 1000,
    falseBargeIns,
    selfAnswers,
    falsePauses,
    heardDbfs: dbfs(sum / Math.max(1, levels.length)),
    heardP95Dbfs: percentile(levels, 95),
  };
}

function rotate<T>(xs: readonly T[], by: number): T[] {
  return xs.map((_, i) => xs[(i + by) % xs.length]!);
}

export interface DoubleTalkResult {
  /** ms from the player's first sample entering the NPC's hearing to the start of the frame where it falls quiet
   * for good: the pause that the barge-in then confirms (hesitation), or the barge-in's own frame */
  latenciesMs: number[];
  /** trials where the NPC never yielded */
  missed: number;
}

const CUTS = ['Wait, stop, I have a question.', 'Hold on a second.', 'Sorry to interrupt, but listen.', 'No, no, wait.'];

/**
 * The player cuts in over the talking NPC, `trials` times, 1.5–6 s into its speech (so sometimes before the
 * canceller has converged). Latency on the engine's timeline, as bench/rehearsal.bench.ts measures barge-in:
 * the network's share is left out so the figure shows what echo handling adds.
 */
export async function doubleTalk(engine: RehearsalEngine, trials: number, loop: Omit<LoopOptions, 'player'>): Promise<DoubleTalkResult> {
  const random = seeded(99);
  const latenciesMs: number[] = [];
  let missed = 0;
  let l: EchoLoop | null = null; // one player across the trials: the first trial meets an unconverged canceller
  for (let t = 0; t < trials; t++) {
    const id = await engine.open(monologuePersona(100 + t, rotate(NPC_LINES, t)));
    await engine.ready(id);
    if (l) (l.session = id), (l.player = undefined);
    else l = new EchoLoop(engine, id, loop);
    const base = l.frame; // this session's frame 0 on the loop's timeline
    // wait for the greeting to start, with a silent player
    let start = -1;
    for (let f = 0; f < 200 && start < 0; f++) if (meanSquare((await l.step()).out) > 1e-5) start = l.frame - 1;
    if (start < 0) {
      missed++;
      await engine.close(id);
      continue;
    }
    // the player cuts in at a random sample 1.5–6 s into the greeting as the speakers play it
    const cut = await playerSpeech([CUTS[t % CUTS.length]!]);
    const atSample = Math.round((start * frameMs + 1500 + random() * 4500 + (loop.playoutFrames ?? 3) * frameMs) * (SAMPLE_RATE / 1000));
    const player = new Float32Array(atSample + cut.samples.length + SAMPLE_RATE * 3);
    player.set(cut.samples, atSample);
    l.player = player;
    const onsetOnEngine = atSample + cut.spans[0]!.start + l.uplinkDelay * FRAME_SAMPLES;
    let stopped = -1;
    const last = Math.ceil(player.length / FRAME_SAMPLES) + l.uplinkDelay;
    while (l.frame < last && stopped < 0) {
      const f = l.frame;
      const fr = await l.step();
      if (fr.events.includes('interrupted') && f * FRAME_SAMPLES >= onsetOnEngine - FRAME_SAMPLES) stopped = f;
    }
    // With hesitation the NPC fell quiet at its last pause, which the barge-in confirmed: that is what the player hears.
    const cutOff = engine.groundTruth(id).find((r) => r.interruptedAt === stopped - base);
    const paused = cutOff?.pausedAt === undefined ? undefined : cutOff.pausedAt + base;
    if (paused !== undefined && paused <= stopped && paused * FRAME_SAMPLES >= onsetOnEngine - FRAME_SAMPLES) stopped = paused;
    if (stopped < 0) missed++;
    else latenciesMs.push(((stopped * FRAME_SAMPLES - onsetOnEngine) / SAMPLE_RATE) * 1000);
    await engine.close(id);
  }
  l?.dispose();
  return { latenciesMs, missed };
}

export { RehearsalEngine };
