/**
 * What each listener heard, through a real server (Colyseus over WebSocket) and the scripted stand-in for the
 * model: players report how far their playback got (Played), the server tells game code (`onHeard`) and each
 * player (a Heard message) the words that player heard, once per utterance, cut at an interruption. The quest
 * flag is the docs/scenes.md example.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kind } from '../../protocol/messages.ts';
import type { Heard } from '../../server/scenes/heard-record.ts';
import { ScriptedEngine } from '../stand-ins/scripted-engine.ts';
import { inlineNpcs, startTestServer, type RunningServer } from '../support/test-server.ts';
import { TestPlayer, tone, waitFor } from '../support/test-player.ts';

const WORDS = [
  { text: 'Loop', frames: 3 },
  { text: 'B', frames: 2 },
  { text: 'lost', frames: 3 },
  { text: 'its', frames: 2 },
  { text: 'coolant.', frames: 4 },
];

let server: RunningServer;
const heard: Heard[] = [];
/** the docs/scenes.md example: a quest flag once Alex has been heard saying "coolant" */
const toldAboutCoolant = new Set<string>();
const players: TestPlayer[] = [];

beforeAll(async () => {
  server = await startTestServer(new ScriptedEngine({ mode: 'script', words: WORDS, textLeadFrames: 1 }), {
    npcs: inlineNpcs({ alex: { hearingRadius: 6, audibleRadius: 12 } }),
    rooms: {
      heard: { npcs: [{ sheet: 'alex', position: [0, 0, 0], facing: [0, 0, 1] }], echoGate: false },
      cut: { npcs: [{ sheet: 'alex', position: [0, 0, 0], facing: [0, 0, 1] }], echoGate: false },
    },
    onHeard: (_room, h) => {
      heard.push(h);
      if (h.npc === 'alex' && h.words.some((w) => /^coolant\b/i.test(w))) toldAboutCoolant.add(h.player);
    },
  });
});
afterAll(async () => {
  for (const p of players) await p.leave();
  await server?.stop();
});

async function player(pos: [number, number, number], room = 'heard') {
  const p = new TestPlayer(server.url, 'pcm16');
  players.push(p);
  await p.join(room);
  await p.hello();
  p.pose(pos, [0, 0, -1]);
  return p;
}

/** Report playback through the newest frame received, every 80 ms: a listener with a tiny playout buffer. */
function reportPlayback(p: TestPlayer, upTo: () => number = () => Infinity) {
  const t = setInterval(() => {
    const last = p.framesFrom('alex').at(-1);
    if (last) p.send({ k: Kind.Played, npc: 'alex', i: Math.min(last.i, upTo()) });
  }, 80);
  return () => clearInterval(t);
}

describe('heard record through the room', () => {
  it('the greeting: every word for a clocked listener, and as sent for one that never reports; a quest flag', async () => {
    const a = await player([0, 0, 2]);
    const stop = reportPlayback(a);
    const b = await player([0, 0, 3]);
    await waitFor(() => a.heard.length >= 1 && b.heard.length >= 1, 8000, 'both told the greeting was heard');
    stop();
    const all = WORDS.map((w) => w.text);
    expect(a.heard[0]).toMatchObject({ k: Kind.Heard, npc: 'alex', words: all, interrupted: false, reached: 'playback' });
    // b may have arrived after the greeting began: it heard from its first frame on
    expect(b.heard[0]).toMatchObject({ npc: 'alex', interrupted: false, reached: 'sent' });
    expect(b.heard[0]!.words.length).toBeGreaterThan(0);
    expect(b.heard[0]!.words).toEqual(all.slice(all.length - b.heard[0]!.words.length));
    const ids = [a.room.sessionId, b.room.sessionId];
    expect(heard.filter((h) => ids.includes(h.player)).map((h) => h.player).sort()).toEqual([...ids].sort());
    expect(toldAboutCoolant).toEqual(new Set(ids));
    // the finished record came after the last word was played, never before it was sent
    const lastText = a.texts.filter((t) => t.piece === '▁coolant.').at(-1)!;
    expect(heard.find((h) => h.player === ids[0])!.to).toBeGreaterThan(lastText.i);
    await a.leave();
    await b.leave();
  });

  it("interrupted: the listener's words stop at the cut, and the one who barged in gets no 'coolant' flag", async () => {
    const a = await player([0, 0, 2], 'cut');
    // let the greeting pass, unreported: its record comes as sent, with 'coolant' in it
    await waitFor(() => a.heard.length === 1, 8000, 'greeting over');
    expect(a.heard[0]!.reached).toBe('sent');
    toldAboutCoolant.clear();
    const stop = reportPlayback(a);
    // ask something, so it answers; cut in once its second word has arrived
    a.streamVoice(tone(300, 0.2));
    await new Promise((r) => setTimeout(r, 400));
    a.stopVoice();
    const started = () => a.events.filter((e) => e.e === 'speech-started').length >= 2;
    await waitFor(() => started() && a.texts.some((t) => t.piece === '▁B' && t.i > a.events.filter((e) => e.e === 'speech-started')[1]!.i), 8000, 'answer under way');
    a.streamVoice(tone(300, 0.2));
    await waitFor(() => a.heard.some((h) => h.interrupted), 8000, 'told the interrupted answer was heard');
    a.stopVoice();
    stop();
    const cut = a.heard.find((h) => h.interrupted)!;
    expect(cut.reached).toBe('playback');
    expect(cut.words.length).toBeGreaterThanOrEqual(1);
    expect(cut.words.length).toBeLessThan(WORDS.length);
    expect(cut.words).toEqual(WORDS.slice(0, cut.words.length).map((w) => w.text));
    expect(cut.words).not.toContain('coolant.');
    expect(toldAboutCoolant.has(a.room.sessionId)).toBe(false);
    await a.leave();
  });
});
