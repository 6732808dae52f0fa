/**
 * The default engine behind the real server: a Colyseus client walks up to an NPC, hears its greeting (audio and
 * captions), speaks (synthetic speech, real time), and hears an answer. This is what `npm start` gives.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startRehearsalEngine } from '../../server/engines/rehearsal/index.ts';
import { inlineNpcs, startTestServer, type RunningServer } from '../support/test-server.ts';
import { TestPlayer, frameRms, waitFor } from '../support/test-player.ts';
import { framesOf, playerSpeech, silentFrame } from './audio-tools.ts';
import { CAPTAIN } from './scenario.ts';

let running: RunningServer | undefined;
let player: TestPlayer | undefined;
afterAll(async () => {
  await player?.leave();
  await running?.stop();
});

describe('rehearsal engine behind the Parley server', () => {
  it('an NPC greets a player who walks up, and answers when spoken to', async () => {
    const engine = await startRehearsalEngine({ workers: 1, engine: { quiet: true } });
    running = await startTestServer(engine, {
      npcs: inlineNpcs({ captain: { name: CAPTAIN.name, hearingRadius: 6, audibleRadius: 12, persona: CAPTAIN } }),
      rooms: { deck: { npcs: [{ sheet: 'captain', position: [0, 0, 0], facing: [0, 0, 1] }] } },
    });
    player = new TestPlayer(running.url, 'pcm16');
    await player.join('deck');
    await player.hello();
    player.pose([0, 0, 1.5], [0, 0, -1]);
    const speech = framesOf((await playerSpeech(['Captain, what is going on with the reactor?'], {})).samples);
    let talking = false;
    player.streamVoice(() => (talking ? (speech.shift() ?? silentFrame()) : silentFrame()));

    const caption = () => player!.texts.map((t) => t.piece.replace('▁', ' ')).join('').trim();
    await waitFor(() => caption() === CAPTAIN.rehearsal!.greeting, 15_000, 'the greeting in captions');
    expect(player.framesFrom('captain').some((f) => frameRms(f.samples) > 0.02)).toBe(true);

    // speak once the greeting has played out (its last caption arrives as its last word starts): talking over its
    // tail would be a barge-in, answered with the after-interruption line instead
    await waitFor(() => player!.events.some((e) => e.npc === 'captain' && e.e === 'speech-ended'), 15_000, 'the end of the greeting');
    const before = player.texts.length;
    talking = true;
    await waitFor(() => player!.texts.length > before + 3, 15_000, 'an answer');
    const answer = player.texts.slice(before).map((t) => t.piece.replace('▁', ' ')).join('').trim();
    expect(CAPTAIN.rehearsal!.lines.some((l) => l.startsWith(answer))).toBe(true);
    expect(player.welcome!.engine).toMatch(/Rehearsal/);
  }, 60_000);
});
