// The plugin's Played reports (plugin/net/played-reporter.ts): one per NPC whose playback passed a frame end.
import { describe, expect, it } from 'vitest';
import { FRAME_SAMPLES } from '../../protocol/frame.ts';
import { decodeClient, encode, ProtocolError } from '../../protocol/envelope.ts';
import { Kind } from '../../protocol/messages.ts';
import { PlayedReporter } from '../../plugin/net/played-reporter.ts';

describe('played reports', () => {
  it('reports the last frame played through, once per advance, per NPC; retries what could not be sent', () => {
    const sent: [string, number][] = [];
    let open = true;
    const r = new PlayedReporter((npc, i) => (open ? (sent.push([npc, i]), true) : false));
    const alex = { npc: 'alex', streamPosition: 0 };
    const kai = { npc: 'kai', streamPosition: 5 * FRAME_SAMPLES + 100 };
    r.report([alex, kai]);
    expect(sent).toEqual([['alex', -1], ['kai', 4]]);
    r.report([alex, kai]);
    expect(sent).toHaveLength(2); // nothing moved
    alex.streamPosition = 3 * FRAME_SAMPLES - 1;
    open = false;
    r.report([alex]);
    open = true;
    r.report([alex]);
    expect(sent.at(-1)).toEqual(['alex', 1]);
    r.reset();
    alex.streamPosition = 0;
    r.report([alex]);
    expect(sent.at(-1)).toEqual(['alex', -1]); // a new stream after a re-join
  });

  it('the Played message is validated like every client message', () => {
    expect(decodeClient(encode({ k: Kind.Played, npc: 'alex', i: 12 }))).toEqual({ k: Kind.Played, npc: 'alex', i: 12 });
    for (const bad of [{ npc: '', i: 1 }, { npc: 'x'.repeat(65), i: 1 }, { npc: 'alex', i: 1.5 }, { npc: 'alex', i: -2 }, { npc: 7, i: 1 }]) {
      expect(() => decodeClient(encode({ k: Kind.Played, ...bad } as never))).toThrow(ProtocolError);
    }
  });
});
