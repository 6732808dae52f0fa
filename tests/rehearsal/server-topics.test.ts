/**
 * Topics behind the real server (issue 21), without a browser: a Colyseus client walks up to Alex (his sheet, with
 * topics), waits for the greeting, asks about the reactor (synthetic speech) in real time, and the captions bring
 * Alex's reactor answer, which only the recogniser in the engine's worker can have chosen.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startRehearsalEngine } from '../../server/engines/rehearsal/index.ts';
import { compileSheetFile } from '../../server/sheets/compile.ts';
import { estimateCounter } from '../../server/persona/tokens.ts';
import { inlineNpcs, startTestServer, type RunningServer } from '../support/test-server.ts';
import { TestPlayer, waitFor } from '../support/test-player.ts';
import { framesOf, playerSpeech, silentFrame } from './audio-tools.ts';

let running: RunningServer | undefined;
let player: TestPlayer | undefined;
afterAll(async () => {
  await player?.leave();
  await running?.stop();
});

describe('topics behind the Parley server', () => {
  it("Alex answers a spoken reactor question with the reactor line", async () => {
    const alex = compileSheetFile(new URL('../../character-sheets/alex.yaml', import.meta.url).pathname, { counter: estimateCounter }).sheet!;
    const engine = await startRehearsalEngine({ workers: 1, engine: { quiet: true } });
    running = await startTestServer(engine, {
      npcs: inlineNpcs({ alex: { name: alex.name, hearingRadius: 6, audibleRadius: 12, persona: alex.persona } }),
      rooms: { deck: { npcs: [{ sheet: 'alex', position: [0, 0, 0], facing: [0, 0, 1] }] } },
    });
    player = new TestPlayer(running.url, 'pcm16');
    await player.join('deck');
    await player.hello();
    player.pose([0, 0, 1.5], [0, 0, -1]);
    // the player's voice: the in-process espeak stand-in the other server test uses (see the report of issue 21:
    // the same question in Flite's voice got no answer at all through the server in one run, still unexplained)
    const question = framesOf((await playerSpeech(["Alex, what's going on with the reactor?"], {})).samples);
    let talking = false;
    player.streamVoice(() => (talking ? (question.shift() ?? silentFrame()) : silentFrame()));

    const caption = (from = 0) => player!.texts.slice(from).map((t) => t.piece.replace('▁', ' ')).join('').trim();
    await waitFor(() => caption() === alex.persona.rehearsal!.greeting, 20_000, 'the greeting in captions');
    const before = player.texts.length;
    // ask once the greeting has played out (its last caption arrives as its last word starts): talking over its
    // tail would be a barge-in, answered with the after-interruption line instead
    await waitFor(() => player!.events.some((e) => e.npc === 'alex' && e.e === 'speech-ended'), 20_000, 'the end of the greeting');
    talking = true;
    await waitFor(() => /core's running hot/.test(caption(before)), 20_000, `the reactor answer (captions so far: "${caption(before)}")`);
    expect(player.welcome!.engine).toMatch(/recognises only its character sheet's topics/);
  }, 90_000);
});
