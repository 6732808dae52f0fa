/**
 * Group conversation on the rehearsal engine, engine-only on one frame timeline (tests/scenes/group-scene.ts):
 * two NPCs who hear each other take turns, stop within their turn budgets, and give the floor to a player who
 * joins. Espeak voices and Silero VAD: the NPCs hear each other's synthesised speech as they would a player's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FRAME_SAMPLES } from '../../protocol/frame.ts';
import type { Persona } from '../../server/engines/contract.ts';
import { RehearsalEngine } from '../../server/engines/rehearsal/engine.ts';
import { playerSpeech } from '../rehearsal/audio-tools.ts';
import { audibleAt, exchangeFigures, framesToMs, runScene, type SceneNpc } from './group-scene.ts';

const persona = (id: string, name: string, voice: 'NATF3' | 'NATM2', seed: number, lines: string[]): Persona => ({
  id, name, textPrompt: `You are ${name}.`, voice: { kind: 'builtin', id: voice }, seed,
  rehearsal: { greeting: lines[0]!, lines: lines.slice(1), backchannels: ['Mm-hm.', 'Right.'], afterInterruption: 'Sorry, go ahead.' },
});
const OKAFOR = persona('okafor', 'Dr. Okafor', 'NATF3', 2203, [
  'Commander, sit down for a moment. Your hands are shaking.',
  'Your dosimeter reads high. Ten minutes at the core, no more.',
  'Take one of the iodine tablets from the blue cabinet.',
  'You need to sleep tonight, and that is an order from your doctor.',
]);
const VANCE = persona('vance', 'Commander Vance', 'NATM2', 4401, [
  'I am fine, doctor. The reactor is what needs looking at.',
  'Alex is down there alone, and loop B is still losing pressure.',
  'Fine. One tablet. Then I am going back to the bridge.',
  'I will sleep when the ship is safe, not before.',
]);
/** the med bay: two metres apart, facing each other */
const PAIR = (turns = 4): SceneNpc[] => [
  { id: 'okafor', persona: OKAFOR, position: [-7, 0, 12], facing: [1, 0, 0], hearsNpcs: ['vance'], npcTurns: turns },
  { id: 'vance', persona: VANCE, position: [-5, 0, 12], facing: [-1, 0, 0], hearsNpcs: ['okafor'], npcTurns: turns },
];
const frames = (ms: number) => Math.round(ms / 80);

let engine: RehearsalEngine;
beforeAll(async () => {
  engine = await RehearsalEngine.create({ tts: 'inline', quiet: true, recognition: false });
});
afterAll(async () => {
  await engine?.dispose();
});

describe('NPCs in conversation (rehearsal engine)', () => {
  it('take turns, one at a time, and stop within their turn budgets', async () => {
    const run = await runScene(engine, PAIR(3), frames(90_000));
    const x = exchangeFigures(run);
    expect(Object.keys(x.byNpc).sort()).toEqual(['okafor', 'vance']); // both spoke
    expect(x.utterances).toBeGreaterThanOrEqual(4);
    // each NPC starts speaking at most its budget of 3 times with no player (backchannels included)
    for (const npc of ['okafor', 'vance']) expect(run.utterances.filter((u) => u.npc === npc).length).toBeLessThanOrEqual(3);
    expect(run.hearing.stats.budgetStops).toBeGreaterThanOrEqual(1);
    // then silence: nothing in the last 40 s of the run
    expect(x.endsAtMs).toBeLessThan(50_000);
    // turn changes: each next speaker starts after the other stopped, within 2 s; overlaps only at a simultaneous start
    expect(x.gapsMs.length).toBeGreaterThanOrEqual(2);
    for (const g of x.gapsMs) expect(g).toBeLessThan(2000);
    expect(x.overlapMs).toBeLessThanOrEqual(480);
  });

  it('a player who joins gets the floor: the NPC talking stops, nobody talks over them, one NPC answers', async () => {
    const speech = await playerSpeech(['Doctor, I need help.', 'I think I was exposed near the reactor.'], { gapMs: 300 });
    // join once the exchange is running: 14 s in
    const join = frames(14_000);
    const voice = new Float32Array(join * FRAME_SAMPLES + speech.samples.length);
    voice.set(speech.samples, join * FRAME_SAMPLES);
    const end = join + Math.ceil(speech.spans.at(-1)!.end / FRAME_SAMPLES);
    const run = await runScene(engine, PAIR(), frames(30_000), () => ({ position: [-6, 1.7, 13.5], facing: [0, 0, -1], voice }));
    const before = run.utterances.filter((u) => u.startFrame < join);
    expect(new Set(before.map((u) => u.npc)).size).toBe(2); // they were talking to each other
    const speaking = (f: number) => run.utterances.filter((u) => audibleAt(u, f));
    // within 400 ms of the player's first word nobody speaks (the yield itself is ~100–300 ms here; bench/turns-group)
    const free = join + Math.ceil(speech.spans[0]!.start / FRAME_SAMPLES) + frames(400);
    expect(speaking(free)).toEqual([]);
    // no NPC starts a turn (backchannels aside) while the player speaks
    expect(run.utterances.filter((u) => u.kind !== 'backchannel' && u.startFrame > free && u.startFrame < end)).toEqual([]);
    // an answer within a second of the player's end; a second into it, one NPC holds the floor
    const answer = run.utterances.find((u) => u.startFrame >= end && u.kind !== 'backchannel')!;
    expect(framesToMs(answer.startFrame - end)).toBeLessThanOrEqual(1000);
    expect(speaking(answer.startFrame + frames(1000)).map((u) => u.npc)).toEqual([answer.npc]);
    // one addressee per player turn: the NPC the floor gave the turn to answers, and the other does not answer
    // too, neither over the answer nor after it (5 s on)
    const floorTo = run.addressee.slice(join, end + 1).filter(Boolean).at(-1);
    expect(answer.npc).toBe(floorTo);
    const others = run.utterances.filter((u) => u.npc !== answer.npc && u.kind !== 'backchannel' && u.startFrame >= free && u.startFrame < answer.end + frames(5000));
    expect(others.map((u) => `${u.npc} ${u.kind} at ${framesToMs(u.startFrame - end)} ms`)).toEqual([]);
  });
});
