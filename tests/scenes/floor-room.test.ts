/**
 * The floor through a real server (Colyseus over WebSocket) with the echo stand-in, which marks each step the scene
 * told it the floor was elsewhere (its text piece): a player talking to A, with B of the same group near enough to
 * hear them too, gets A as the addressee; B's steps carry floorElsewhere and A's do not. B's copy that hears no NPCs
 * is in a conversation of its own and is never told.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vec3 } from '../../protocol/messages.ts';
import { ScriptedEngine } from '../stand-ins/scripted-engine.ts';
import { TestPlayer, tone, waitFor } from '../support/test-player.ts';
import { inlineNpcs, startTestServer, type RunningServer } from '../support/test-server.ts';

const A: Vec3 = [0, 0, 0];
const B: Vec3 = [2, 0, 0];
const PLAYER: Vec3 = [0, 0, 1.2]; // in front of A, to B's side
let server: RunningServer;
const players: TestPlayer[] = [];

beforeAll(async () => {
  server = await startTestServer(new ScriptedEngine({ mode: 'echo', capacity: 8 }), {
    npcs: inlineNpcs({
      a: { hearingRadius: 6, hearsNpcs: true },
      b: { hearingRadius: 6, hearsNpcs: true },
      loner: { hearingRadius: 6 },
    }),
    rooms: {
      group: { npcs: [{ sheet: 'a', position: A, facing: [0, 0, 1] }, { sheet: 'b', position: B, facing: [-1, 0, 0] }], echoGate: false },
      apart: { npcs: [{ sheet: 'a', position: A, facing: [0, 0, 1] }, { sheet: 'loner', id: 'b', position: B, facing: [-1, 0, 0] }], echoGate: false },
    },
  });
});
afterAll(async () => {
  for (const p of players) await p.leave();
  await server?.stop();
});

async function talkToA(room: string) {
  const p = new TestPlayer(server.url, 'pcm16');
  players.push(p);
  await p.join(room);
  await p.hello();
  p.pose(PLAYER, [0, 0, -1]); // facing A
  await new Promise((r) => setTimeout(r, 1500)); // the room moves a player to its pose at walking speed
  p.streamVoice(tone(300, 0.2));
  await waitFor(() => p.framesFrom('a').length >= 30 && p.framesFrom('b').length >= 30, 15_000, 'frames from both');
  p.stopVoice();
  const marked = (npc: string) => p.texts.filter((t) => t.npc === npc && t.piece === '▁floor-elsewhere').length;
  const out = { a: marked('a'), b: marked('b'), heardBy: p.room.state.players.get(p.room.sessionId)?.heardBy };
  await p.leave();
  return out;
}

describe('the floor through the room', () => {
  it('the player faces A: A is the addressee; B, who hears NPCs, leaves the turn; a B that hears no NPCs does not', async () => {
    const group = await talkToA('group');
    expect(group.heardBy).toBe('a');
    expect(group.a).toBe(0);
    expect(group.b).toBeGreaterThan(10);
    const apart = await talkToA('apart');
    expect(apart.b).toBe(0);
    expect(apart.a).toBe(0);
  });
});
