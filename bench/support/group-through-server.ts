/**
 * The group bench through the real server (issue 19): Okafor and Vance in one room of a Parley server around the
 * rehearsal engine (worker threads, as `npm start` runs it), one player a Colyseus client over WebSocket on
 * loopback, standing between them. The player is silent while the two talk, then speaks into their exchange.
 * Everything is read on the player's clock, from the NPC voice frames as they arrive (a frame louder than 0.01
 * RMS is speech; runs of speech less than 400 ms apart are one utterance), so figures include the pipeline, but
 * not the plugin's playout buffer (about 20 ms on a clean link: docs/latency.md).
 */
import { FRAME_SAMPLES } from '../../protocol/frame.ts';
import type { Vec3 } from '../../protocol/messages.ts';
import { rms } from '../../protocol/dsp/level.ts';
import type { DuplexEngine } from '../../server/engines/contract.ts';
import type { NpcDefinition } from '../../server/room/npc-directory.ts';
import { TestPlayer } from '../../tests/support/test-player.ts';
import { inlineNpcs, startTestServer } from '../../tests/support/test-server.ts';
import { sleep } from '../../tests/support/time.ts';

export interface GroupNpc {
  id: string;
  def: NpcDefinition;
  position: Vec3;
  facing: Vec3;
}

export interface ServerGroupRun {
  /** utterances per NPC on the player's clock (ms from the player's first pose), in start order */
  utterances: { npc: string; start: number; end: number }[];
  /** the player's speech on the same clock: first word, last word */
  spoke: { start: number; end: number };
}

const QUIET_GAP_MS = 400;

/**
 * Run one scene: `aloneMs` of the NPCs alone, then the player's `speech` (24 kHz, with its speech spans), then
 * `afterMs` more.
 */
export async function runGroupThroughServer(
  engine: DuplexEngine,
  npcs: GroupNpc[],
  player: { position: Vec3; facing: Vec3 },
  speech: { samples: Float32Array; spans: { start: number; end: number }[] },
  aloneMs: number,
  afterMs: number,
): Promise<ServerGroupRun> {
  const running = await startTestServer(engine, {
    npcs: inlineNpcs(Object.fromEntries(npcs.map((n) => [n.id, n.def]))),
    rooms: { group: { npcs: npcs.map((n) => ({ sheet: n.id, position: n.position, facing: n.facing })) } },
  });
  const p = new TestPlayer(running.url, 'pcm16');
  try {
    await p.join('group');
    await p.hello();
    const t0 = Date.now();
    p.pose(player.position, player.facing);
    // silence until the speech, so the uplink runs as a real client's does
    const speakAt = aloneMs;
    let sentAt = -1;
    const frames = Math.ceil(speech.samples.length / FRAME_SAMPLES);
    p.streamVoice(() => {
      const now = Date.now() - t0;
      if (now < speakAt) return new Float32Array(FRAME_SAMPLES);
      if (sentAt < 0) sentAt = now;
      const k = Math.round((now - sentAt) / 80);
      const out = new Float32Array(FRAME_SAMPLES);
      if (k < frames) out.set(speech.samples.subarray(k * FRAME_SAMPLES, Math.min(speech.samples.length, (k + 1) * FRAME_SAMPLES)));
      return out;
    });
    await sleep(aloneMs + (frames * 80) + afterMs);
    p.stopVoice();
    const utterances: ServerGroupRun['utterances'] = [];
    for (const n of npcs) {
      let cur: { start: number; end: number } | null = null;
      for (const f of p.frames.filter((x) => x.npc === n.id)) {
        if (rms(f.samples) <= 0.01) continue;
        const at = f.at - t0;
        if (cur && at - cur.end <= QUIET_GAP_MS) cur.end = at + 80;
        else {
          if (cur) utterances.push({ npc: n.id, ...cur });
          cur = { start: at, end: at + 80 };
        }
      }
      if (cur) utterances.push({ npc: n.id, ...cur });
    }
    utterances.sort((a, b) => a.start - b.start);
    const ms = (s: number) => (s / 24_000) * 1000;
    return { utterances, spoke: { start: sentAt + ms(speech.spans[0]!.start), end: sentAt + ms(speech.spans.at(-1)!.end) } };
  } finally {
    await p.leave().catch(() => {});
    await running.stop();
  }
}
