/**
 * The group variant of the turn-taking bench (issue 19): two rehearsal NPCs who hear each other (Okafor and Vance,
 * two metres apart in the med bay), engine-only on one frame timeline (tests/scenes/group-scene.ts: the hearing
 * stage and server/scenes/npc-hearing.ts as the room runs them, without the network or the plugin's playout).
 *
 *   alone   no player speaks: NPC-to-NPC turn changes (gap from one NPC's stop to the other's start), overlap,
 *           who yields, and when the turn budget (npc_turns 2 and 4) ends the exchange
 *   join    a player standing between them speaks into the running exchange at six different moments: time from
 *           their first word until no NPC speaks, NPC turns started over them, time from their last word until
 *           an NPC answers, whether a single NPC holds the floor a second into the answer, and how many turns
 *           the other NPC starts from the player's first word until 5 s after the answer (a second answer), with
 *           the scene's floor (server/scenes/floor.ts) and without it (`_no_floor`, same run: the baseline)
 *
 * Both run twice: with the sheets as written (Vance `finish_phrase`), and with every policy `yield` (`_yield_`).
 *
 *   server  the cast's sheets as written, through a real Parley server (rehearsal engine in worker threads, one
 *           player a Colyseus client on loopback; bench/support/group-through-server.ts): the player is silent
 *           for a while, then speaks into the exchange, three times (joining 12, 16 and 20 s in). End to end on
 *           the player's clock, from NPC voice frames as they arrive (not the plugin's playout). PARLEY_GROUP_SERVER=0
 *           skips it.
 *
 * `npx tsx bench/run.ts turns-group`. Figures are engine-only (the frame timeline) except `group_server_*`.
 */
import { FRAME_SAMPLES } from '../protocol/frame.ts';
import { RehearsalEngine } from '../server/engines/rehearsal/engine.ts';
import { compileSheetFile } from '../server/sheets/compile.ts';
import { estimateCounter } from '../server/persona/tokens.ts';
import { playerSpeech } from '../tests/rehearsal/audio-tools.ts';
import { exchangeFigures, framesToMs, median, runScene, type SceneNpc } from '../tests/scenes/group-scene.ts';
import { startRehearsalEngine } from '../server/engines/rehearsal/index.ts';
import { runGroupThroughServer, type GroupNpc } from './support/group-through-server.ts';

const log = (s: string) => process.stderr.write(`  ${s}\n`);
const frames = (ms: number) => Math.round(ms / 80);
const sheet = (id: string) => {
  const r = compileSheetFile(new URL(`../character-sheets/${id}.yaml`, import.meta.url).pathname, { counter: estimateCounter });
  if (!r.sheet) throw new Error(`${id}.yaml: ${r.issues.map((i) => i.message).join('; ')}`);
  return r.sheet;
};
const persona = (id: string) => sheet(id).persona;
const max = (xs: number[]) => (xs.length ? Math.max(...xs) : NaN);
const p95 = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(0.95 * xs.length))]! : NaN);

export default async function turnsGroupBench(): Promise<Record<string, number>> {
  const engine = await RehearsalEngine.create({ tts: 'inline', quiet: true, recognition: false });
  const figures: Record<string, number> = {};
  try {
    for (const variant of ['', '_yield'] as const) {
      const cast = (id: string) => {
        const p = persona(id);
        if (variant === '_yield') delete p.whenInterrupted;
        return p;
      };
      const pair = (turns: number): SceneNpc[] => [
        { id: 'okafor', persona: cast('okafor'), position: [-7, 0, 12], facing: [1, 0, 0], hearsNpcs: ['vance'], npcTurns: turns },
        { id: 'vance', persona: cast('vance'), position: [-5, 0, 12], facing: [-1, 0, 0], hearsNpcs: ['okafor'], npcTurns: turns },
      ];
      Object.assign(figures, await measure(engine, pair, variant));
    }
  } finally {
    await engine.dispose();
  }
  if (process.env.PARLEY_GROUP_SERVER !== '0') Object.assign(figures, await throughServer());
  return figures;
}

/** The cast's sheets as written, through the server; see the header. */
async function throughServer(): Promise<Record<string, number>> {
  const def = (id: string) => {
    const c = sheet(id);
    return { name: c.name, role: c.role, ...c.hearing, persona: c.persona, hearsNpcs: c.conversation.hearsNpcs, npcTurns: c.conversation.npcTurns };
  };
  const npcs: GroupNpc[] = [
    { id: 'okafor', def: def('okafor'), position: [-7, 0, 12], facing: [1, 0, 0] },
    { id: 'vance', def: def('vance'), position: [-5, 0, 12], facing: [-1, 0, 0] },
  ];
  const speech = await playerSpeech(['Doctor, I need help.', 'I think I was exposed near the reactor.'], { gapMs: 300 });
  const floorFree: number[] = [];
  const answer: number[] = [];
  const gaps: number[] = [];
  let second = 0;
  let overPlayer = 0;
  let exchanges = 0;
  for (const aloneMs of [12_000, 16_000, 20_000]) {
    // a fresh engine per run: stopping a server disposes its engine
    const engine = await startRehearsalEngine();
    try {
      const run = await runGroupThroughServer(engine, npcs, { position: [-6, 1.7, 13.5], facing: [0, 0, -1] }, speech, aloneMs, 8000);
      const u = run.utterances;
      const before = u.filter((x) => x.start < run.spoke.start);
      // NPC-to-NPC turn changes before the player speaks: gap from one NPC's end to the other's start
      for (let k = 1; k < before.length; k++) if (before[k]!.npc !== before[k - 1]!.npc && before[k]!.start >= before[k - 1]!.end) gaps.push(before[k]!.start - before[k - 1]!.end);
      if (new Set(before.map((x) => x.npc)).size === 2) exchanges++;
      // from the player's first word until no NPC is speaking
      const speaking = u.filter((x) => x.start < run.spoke.start && x.end > run.spoke.start);
      floorFree.push(Math.max(0, ...speaking.map((x) => x.end - run.spoke.start)));
      overPlayer += u.filter((x) => x.start > run.spoke.start + 400 && x.start < run.spoke.end).length;
      const a = u.find((x) => x.start >= run.spoke.end);
      if (a) {
        answer.push(a.start - run.spoke.end);
        second += u.filter((x) => x.npc !== a.npc && x.start > run.spoke.start + 400 && x.start < a.end + 5000).length;
      }
      log(`server, join at ${aloneMs / 1000} s: ${u.map((x) => `${x.npc}@${Math.round(x.start)}-${Math.round(x.end)}`).join(' ')}; player ${Math.round(run.spoke.start)}-${Math.round(run.spoke.end)} ms`);
    } finally {
      await engine.dispose();
    }
  }
  return {
    group_server_runs: 3,
    group_server_runs_with_an_exchange: exchanges,
    group_server_gap_p50_ms: median(gaps),
    group_server_gap_max_ms: max(gaps),
    group_server_floor_free_p50_ms: median(floorFree),
    group_server_floor_free_max_ms: max(floorFree),
    group_server_npc_turns_over_player: overPlayer,
    group_server_answer_p50_ms: median(answer),
    group_server_answer_max_ms: max(answer),
    group_server_answered: answer.length,
    group_server_second_npc_turns: second,
  };
}

async function measure(engine: RehearsalEngine, pair: (turns: number) => SceneNpc[], v: string): Promise<Record<string, number>> {
  const figures: Record<string, number> = {};
  {
    for (const turns of [2, 4]) {
      const run = await runScene(engine, pair(turns), frames(120_000));
      const x = exchangeFigures(run);
      log(`${v || '_cast'} alone, npc_turns ${turns}: ${run.utterances.map((u) => `${u.npc}:${u.kind}${u.interruptedAt !== undefined ? '(cut)' : ''}`).join(' ')}`);
      figures[`group${v}_alone_turns${turns}_utterances`] = run.utterances.length;
      figures[`group${v}_alone_turns${turns}_ends_s`] = x.endsAtMs / 1000;
      figures[`group${v}_alone_turns${turns}_gap_p50_ms`] = median(x.gapsMs);
      figures[`group${v}_alone_turns${turns}_gap_max_ms`] = max(x.gapsMs);
      figures[`group${v}_alone_turns${turns}_overlap_ms`] = x.overlapMs;
      figures[`group${v}_alone_turns${turns}_yields`] = x.yields.length;
    }
    const speech = await playerSpeech(['Doctor, I need help.', 'I think I was exposed near the reactor.'], { gapMs: 300 });
    const onset = Math.floor(speech.spans[0]!.start / FRAME_SAMPLES);
    const yieldMs: number[] = [];
    const answerMs: number[] = [];
    let talkedOver = 0;
    let oneFloor = 0;
    const second = { floor: 0, none: 0 };
    const joins = [8_000, 11_000, 14_000, 17_000, 20_000, 23_000];
    for (const at of joins) {
      const join = frames(at);
      const voice = new Float32Array(join * FRAME_SAMPLES + speech.samples.length);
      voice.set(speech.samples, join * FRAME_SAMPLES);
      const end = join + Math.ceil(speech.spans.at(-1)!.end / FRAME_SAMPLES);
      const run = await runScene(engine, pair(4), frames(at + 16_000), () => ({ position: [-6, 1.7, 13.5], facing: [0, 0, -1], voice }));
      const speaking = (f: number) => run.utterances.filter((u) => u.startFrame <= f && f < u.end);
      let f = join + onset;
      while (f < end && speaking(f).length > 0) f++;
      yieldMs.push(framesToMs(f - join - onset));
      talkedOver += run.utterances.filter((u) => u.kind !== 'backchannel' && u.startFrame > join + onset + frames(400) && u.startFrame < end).length;
      const answer = run.utterances.find((u) => u.startFrame >= end && u.kind !== 'backchannel');
      if (answer) {
        answerMs.push(framesToMs(answer.startFrame - end));
        if (speaking(answer.startFrame + frames(1000)).length === 1) oneFloor++;
      }
      const seconds = (r: typeof run, to: typeof answer) =>
        to ? r.utterances.filter((u) => u.npc !== to.npc && u.kind !== 'backchannel' && u.startFrame > join + onset + frames(400) && u.startFrame < to.end + frames(5000)).length : 0;
      second.floor += seconds(run, answer);
      const bare = await runScene(engine, pair(4), frames(at + 16_000), () => ({ position: [-6, 1.7, 13.5], facing: [0, 0, -1], voice }), { floor: false });
      const bareAnswer = bare.utterances.find((u) => u.startFrame >= end && u.kind !== 'backchannel');
      second.none += seconds(bare, bareAnswer);
      log(`${v || '_cast'} join at ${at / 1000} s: floor free after ${yieldMs.at(-1)} ms, answer ${answer ? `${answer.npc} after ${answerMs.at(-1)} ms` : 'none'}; second NPC's turns ${seconds(run, answer)} (without the floor ${seconds(bare, bareAnswer)})`);
    }
    figures[`group${v}_join_runs`] = joins.length;
    figures[`group${v}_join_floor_free_p50_ms`] = median(yieldMs);
    figures[`group${v}_join_floor_free_max_ms`] = max(yieldMs);
    figures[`group${v}_join_npc_turns_over_player`] = talkedOver;
    figures[`group${v}_join_answer_p50_ms`] = median(answerMs);
    figures[`group${v}_join_answer_p95_ms`] = p95(answerMs);
    figures[`group${v}_join_answered`] = answerMs.length;
    figures[`group${v}_join_one_npc_answering`] = oneFloor;
    figures[`group${v}_join_second_npc_turns`] = second.floor;
    figures[`group${v}_join_second_npc_turns_no_floor`] = second.none;
  }
  return figures;
}
