// The scene's floor (server/scenes/floor.ts): one addressee per player turn, the others in the group leave it.
import { describe, expect, it } from 'vitest';
import { FRAME_SAMPLES } from '../../protocol/frame.ts';
import { SceneFloor, type FloorNpc } from '../../server/scenes/floor.ts';
import { PLAYER_HOLD_MS } from '../../server/scenes/npc-hearing.ts';
import { HOLD_PLAYER_GAIN } from '../../server/scenes/interruption-ducking.ts';
import { createParleyMetrics } from '../../server/metrics/parley-metrics.ts';
import { HearingStage, type HearingPlayer } from '../../server/voice/hearing-stage.ts';
import { TurnTaking, type Hearing } from '../../server/engines/rehearsal/turn-taking.ts';
import { amplitude, tone } from '../support/audio.ts';
import { testStream } from '../support/npc-stream.ts';
import { run, talk } from '../rehearsal/turn-script.ts';
import { stubIntake } from '../support/intake.ts';

const group = (live = { a: true, b: true }): FloorNpc[] => [
  { id: 'a', hearsNpcs: true, live: live.a },
  { id: 'b', hearsNpcs: ['a'], live: live.b },
  { id: 'loner', hearsNpcs: false, live: true },
];

/** One tick: `levels` is what each NPC heard of player p1 (weighted RMS); absent NPCs heard nothing. */
function tick(f: SceneFloor, levels: Record<string, number>, npcs = group()) {
  f.beginTick(npcs);
  for (const [npc, level] of Object.entries(levels)) f.heard(npc, 'p1', level);
}

describe('SceneFloor', () => {
  it('gives the turn to the NPC that heard it loudest; the others of its group leave it, NPCs outside it do not', () => {
    const f = new SceneFloor();
    tick(f, { a: 0.05, b: 0.08, loner: 0.2 });
    tick(f, { a: 0.06, b: 0.05, loner: 0.2 });
    // a 0.11 against b 0.13: b leads (the loner is the loudest but hears no NPCs: it is in a conversation of its own)
    expect(f.addresseeOf('p1')).toBe('loner');
    const g = new SceneFloor();
    tick(g, { a: 0.05, b: 0.08 });
    tick(g, { a: 0.06, b: 0.05 });
    expect(g.addresseeOf('p1')).toBe('b');
    expect([g.elsewhere('a'), g.elsewhere('b')]).toEqual([true, false]);
    // the player turns to a mid-sentence: the lead moves
    tick(g, { a: 0.2, b: 0.01 });
    expect(g.addresseeOf('p1')).toBe('a');
    expect([g.elsewhere('a'), g.elsewhere('b')]).toEqual([false, true]);
    expect(g.stats.turns).toBe(1);
  });

  it('an NPC that does not hear the addressee, or heard nothing of the turn, keeps its own floor', () => {
    const f = new SceneFloor();
    const npcs: FloorNpc[] = [
      { id: 'a', hearsNpcs: ['c'], live: true },
      { id: 'b', hearsNpcs: true, live: true },
      { id: 'c', hearsNpcs: true, live: true },
    ];
    tick(f, { a: 0.02, b: 0.1 }, npcs);
    expect(f.addresseeOf('p1')).toBe('b');
    expect(f.elsewhere('a')).toBe(false); // hears only c
    expect(f.elsewhere('c')).toBe(false); // heard nothing of the turn
  });

  it('only an NPC with a live session can be given the turn', () => {
    const f = new SceneFloor();
    tick(f, { a: 0.01, b: 0.3 }, group({ a: true, b: false }));
    expect(f.addresseeOf('p1')).toBe('a');
    expect(f.elsewhere('b')).toBe(true);
  });

  it('the addressee starting fixes the turn; talked over it keeps it; once it has finished, the next voice opens a new turn', () => {
    const f = new SceneFloor();
    tick(f, { a: 0.1, b: 0.05 });
    f.spoke('a', [{ e: 'speech-started', i: 1 }]);
    tick(f, { a: 0.01, b: 0.5 }); // the player turns to b while a answers: a keeps the turn it started
    expect(f.addresseeOf('p1')).toBe('a');
    expect(f.elsewhere('b')).toBe(true);
    f.spoke('b', [{ e: 'speech-started', i: 1 }, { e: 'speech-ended', i: 2 }]); // not the addressee: changes nothing
    expect(f.addresseeOf('p1')).toBe('a');
    // the player talks over a: a yields, the player goes on, and the turn stays a's (it answers again)
    f.spoke('a', [{ e: 'interrupted', i: 2 }]);
    tick(f, { a: 0.01, b: 0.5 });
    expect(f.addresseeOf('p1')).toBe('a');
    expect(f.elsewhere('b')).toBe(true);
    f.spoke('a', [{ e: 'speech-started', i: 5 }, { e: 'speech-ended', i: 9 }]);
    // finished: b still leaves that turn (its engine may not have reached its end of turn yet)…
    tick(f, {});
    expect(f.elsewhere('b')).toBe(true);
    // …until the player speaks again: a new turn, to whoever hears it best
    tick(f, { a: 0.01, b: 0.05 });
    expect(f.addresseeOf('p1')).toBe('b');
    expect([f.elsewhere('a'), f.elsewhere('b')]).toEqual([true, false]);
    expect(f.stats.turns).toBe(2);
  });

  it('a turn is forgotten PLAYER_HOLD_MS after the player last spoke unless its NPC is answering; a player leaving closes theirs', () => {
    const f = new SceneFloor();
    tick(f, { a: 0.1, b: 0.05 });
    const hold = PLAYER_HOLD_MS / 80;
    for (let i = 0; i < hold; i++) tick(f, {});
    expect(f.elsewhere('b')).toBe(true);
    tick(f, {});
    expect(f.elsewhere('b')).toBe(false);
    tick(f, { a: 0.1, b: 0.05 });
    f.spoke('a', [{ e: 'speech-started', i: 1 }]); // a long answer outlasts the hold
    for (let i = 0; i < hold + 5; i++) tick(f, {});
    expect(f.elsewhere('b')).toBe(true);
    f.spoke('a', [{ e: 'speech-ended', i: 2 }]);
    tick(f, {});
    expect(f.elsewhere('b')).toBe(false);
    tick(f, { a: 0.1, b: 0.05 });
    f.forget('p1');
    expect(f.addresseeOf('p1')).toBe('');
    // an NPC leaving takes its part in the turn with it
    tick(f, { a: 0.1, b: 0.05 });
    f.forget('a');
    expect(f.addresseeOf('p1')).toBe('b');
  });
});

describe('the floor in the hearing stage and the rehearsal turn-taking', () => {
  it('the hearing stage reports each heard player to the floor, with the weighted level in each NPC ear', () => {
    const a = testStream('a', { position: [0, 0, 0], facing: [0, 0, 1] });
    const b = testStream('b', { position: [3, 0, 0], facing: [0, 0, 1] });
    for (const n of [a, b]) {
      n.def.hearsNpcs = true;
      n.open();
      n.opened(1);
    }
    const stage = new HearingStage(createParleyMetrics());
    const floor = new SceneFloor();
    stage.floor = floor;
    const voice = tone(FRAME_SAMPLES, 300, 0.2);
    const player: HearingPlayer = {
      position: [0, 0, 1.5], // in front of a, off to b's side and further
      facing: [0, 0, -1],
      intake: stubIntake(() => voice),
      state: { heardBy: '', id: 'p1' },
    };
    floor.beginTick([a, b].map((n) => ({ id: n.id, hearsNpcs: true, live: true })));
    stage.run([player], [a, b]);
    expect(player.state.heardBy).toBe('a');
    expect(floor.addresseeOf('p1')).toBe('a');
    expect(floor.elsewhere('b')).toBe(true);
  });

  it('model engines: a silent NPC whose floor is elsewhere hears the player 20 dB down; speaking, in full (to yield)', () => {
    const level = (speaking: boolean) => {
      const n = testStream('b');
      n.open();
      n.opened(1);
      if (speaking) n.heard({ session: 1, output: tone(FRAME_SAMPLES, 200, 0.3) }, new Float32Array(FRAME_SAMPLES));
      n.floorElsewhere = true;
      const stage = new HearingStage(createParleyMetrics());
      stage.duckForPolicies = true;
      const voice = tone(FRAME_SAMPLES, 300, 0.2);
      stage.run([{ position: [0, 0, 1], facing: [0, 0, -1], intake: stubIntake(() => voice), state: { heardBy: '' } }], [n]);
      return amplitude(n.input, 300);
    };
    expect(level(false) / level(true)).toBeCloseTo(HOLD_PLAYER_GAIN, 3);
  });

  it('rehearsal turn-taking with the floor elsewhere: still yields when talked over, but neither answers, greets nor backchannels', () => {
    const quiet = (frames: number): Hearing[] => Array.from({ length: frames }, (_, i) => ({ speechMs: 0, silenceMs: (i + 1) * 80 }));
    const script = [...quiet(7), ...talk(10), ...quiet(20)];
    const free = run(new TurnTaking({ bargeInMs: 96, endOfTurnMs: 500 }), script, 50);
    // (the default hesitation: quiet at the first frame of speech, then the barge-in)
    expect(free.map((l) => l.d)).toEqual([{ say: 'greeting' }, { pause: true }, { interrupt: true }, { say: 'afterInterruption' }]);
    // the floor goes elsewhere once the player speaks (frame 7 on)
    const t = new TurnTaking({ bargeInMs: 96, endOfTurnMs: 500 });
    const log: { frame: number; d: object }[] = [];
    let playing = 0;
    script.forEach((h, frame) => {
      const d = t.step(h, playing <= 0, frame >= 7);
      playing = d.say ? 50 : playing - 1;
      if (Object.keys(d).length) log.push({ frame, d });
    });
    expect(log.map((l) => l.d)).toEqual([{ say: 'greeting' }, { pause: true }, { interrupt: true }]);
    // silent from the start with the floor elsewhere: a long turn gets no backchannel, no greeting, no answer
    const quietly = new TurnTaking({ backchannelAfterMs: 800, backchannelPauseMs: 160, greetAfterMs: 400 });
    const said = [...talk(30), ...quiet(3), ...talk(10), ...quiet(30)].map((h) => quietly.step(h, true, true)).filter((d) => Object.keys(d).length);
    expect(said).toEqual([]);
  });
});
