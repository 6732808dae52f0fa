/** Voice out without a room: earshot, one encoding per codec, events before voice, text, lip-sync, byte counts. */
import { describe, expect, it } from 'vitest';
import type { Codec } from '../../protocol/codecs.ts';
import { decodeServer } from '../../protocol/envelope.ts';
import { FRAME_SAMPLES } from '../../protocol/frame.ts';
import { Kind, type ServerMsg, type Vec3 } from '../../protocol/messages.ts';
import type { VisemeTrack } from '../../protocol/visemes.ts';
import { createParleyMetrics } from '../../server/metrics/parley-metrics.ts';
import { VoiceOut, type VoiceListener } from '../../server/voice/voice-out.ts';
import { tone } from '../support/audio.ts';
import { testStream } from '../support/npc-stream.ts';

function listener(position: Vec3, recv: Codec | null) {
  const got: { msg: ServerMsg; bytes: Uint8Array }[] = [];
  const l: VoiceListener & { got: typeof got } = {
    position, recv, got,
    client: { sendBytes: (_channel, bytes) => got.push({ msg: decodeServer(bytes), bytes }) },
  };
  return l;
}

describe('voice out', () => {
  it('sends events, then voice encoded once per codec, then text, to players in earshot only', async () => {
    const metrics = createParleyMetrics();
    const out = new VoiceOut(metrics, () => 42);
    const track: VisemeTrack = { v: [1], t: [0] } as unknown as VisemeTrack;
    const cuts: number[] = [];
    const alex = testStream('alex', { audibleRadius: 10, visemes: { onFrame: (_i, piece) => (piece ? track : undefined), interrupt: (i) => cuts.push(i) } });
    const pcm = listener([0, 0, 3], 'pcm16');
    const pcm2 = listener([0, 0, -3], 'pcm16');
    const opus = listener([3, 0, 0], 'opus');
    const far = listener([0, 0, 30], 'pcm16');
    const noHello = listener([0, 0, 1], null);
    out.deliver(alex, 5, { session: 1, output: tone(FRAME_SAMPLES, 300, 0.3), text: '▁Reactor' }, [{ e: 'interrupted', i: 5 }], [pcm, pcm2, opus, far, noHello]);
    expect(far.got).toHaveLength(0);
    expect(noHello.got).toHaveLength(0);
    expect(pcm.got.map((g) => g.msg.k)).toEqual([Kind.NpcEvent, Kind.NpcVoice, Kind.Text]);
    expect(pcm.got[0]!.msg).toEqual({ k: Kind.NpcEvent, npc: 'alex', e: 'interrupted', i: 5 });
    expect(pcm.got[1]!.msg).toMatchObject({ k: Kind.NpcVoice, npc: 'alex', i: 5, t: 42, codec: 'pcm16', vis: track });
    expect(opus.got[1]!.msg).toMatchObject({ k: Kind.NpcVoice, codec: 'opus' });
    // encoded once per codec: both pcm16 players got the very same bytes
    expect(pcm.got[1]!.bytes).toBe(pcm2.got[1]!.bytes);
    expect(Object.keys(alex.encoders).sort()).toEqual(['opus', 'pcm16']);
    expect(pcm.got[2]!.msg).toEqual({ k: Kind.Text, npc: 'alex', i: 5, piece: '▁Reactor' });
    expect(cuts).toEqual([5]);
    expect(await metrics.registry.render()).toContain(`parley_bytes_sent_total{codec="pcm16",stream="npc_voice"} ${pcm.got[1]!.bytes.byteLength * 2}`);
    expect(await metrics.registry.render()).toContain(`parley_bytes_sent_total{codec="opus",stream="npc_voice"} ${opus.got[1]!.bytes.byteLength}`);
  });

  it('with nobody in earshot an interruption still cuts the lip-sync timeline, and nothing is encoded', () => {
    const cuts: number[] = [];
    const alex = testStream('alex', { visemes: { onFrame: () => undefined, interrupt: (i) => cuts.push(i) } });
    new VoiceOut(createParleyMetrics()).deliver(alex, 9, { session: 1, output: new Float32Array(FRAME_SAMPLES) }, [{ e: 'interrupted', i: 9 }], []);
    expect(cuts).toEqual([9]);
    expect(Object.keys(alex.encoders)).toEqual([]);
  });

  it('a pause cuts the lip-sync timeline too; a resume and the speech events do not', () => {
    const cuts: number[] = [];
    const alex = testStream('alex', { visemes: { onFrame: () => undefined, interrupt: (i) => cuts.push(i) } });
    const out = new VoiceOut(createParleyMetrics());
    const silent = { session: 1, output: new Float32Array(FRAME_SAMPLES) };
    out.deliver(alex, 3, silent, [{ e: 'speech-started', i: 3 }], []);
    out.deliver(alex, 12, silent, [{ e: 'paused', i: 12 }], []);
    out.deliver(alex, 17, silent, [{ e: 'resumed', i: 17 }], []);
    expect(cuts).toEqual([12]);
  });
});
