/**
 * The turn-taking bench's conversations, after Full-Duplex-Bench v1 (DanielLin94144/Full-Duplex-Bench,
 * v1_v1.5/evaluation/): pause handling, smooth turn-taking, user interruption, listener backchannels (FDB v1.5:
 * carrying on is right) and backchannels during a long player turn. A player's script runs act by act and reacts
 * to what it hears (it waits for the NPC to be quiet before starting, and talks over the NPC's answer while it
 * plays); every act records where on the player's timeline (24 kHz samples) its speech starts, pauses and ends.
 */
import { seededRandom } from '../../server/seeded-random.ts';
import { PAUSE, setPause, speak, type Speaker } from './speakers.ts';

const SR = 24_000;
const ms = (v: number) => Math.round((v * SR) / 1000);

export type ScenarioKind = 'pause' | 'smooth' | 'interrupt' | 'listener' | 'long';

/** What a scripted act said, on the player's timeline (samples). */
export interface Said {
  kind: ScenarioKind;
  speaker: string;
  set: 'tuning' | 'heldOut';
  /** the scripted question or statement */
  start: number;
  end: number;
  /** pause inside it (pause handling) */
  pause?: { start: number; end: number };
  /** quiet stretches between the clauses of a long turn */
  gaps?: { start: number; end: number }[];
  /** talk-over stimulus said while the NPC answered (interrupt / listener): its span */
  over?: { start: number; end: number; text: string };
  /** scripted audio that never came (the NPC never spoke, so the talk-over could not be placed) */
  skipped?: boolean;
}

/** What the player has heard so far: the NPC's audio on the player's timeline. */
export interface Heard {
  /** samples heard so far (the timeline's length) */
  readonly length: number;
  /** ms the NPC has been quiet at the end of what was heard (Infinity if never spoken) */
  quietMs(): number;
  /** ms the NPC's current stretch of speech has lasted (0 when quiet) */
  talkingMs(): number;
}

type Act =
  | { a: 'quiet'; ms: number; minMs: number; needSpeech: boolean; heardAt?: number }
  | { a: 'say'; audio: Float32Array; said: Said; pause?: { start: number; end: number }; gaps?: { start: number; end: number }[] }
  | { a: 'over'; audio: Float32Array; said: Said; afterMs: number; text: string };

/**
 * One player's script. `next(n, heard)` gives input frame n (1920 samples) and is called once per frame in
 * order; `said` is filled in as acts run.
 */
export class PlayerScript {
  readonly said: Said[] = [];
  private acts: Act[] = [];
  private current: { act: Act; pos: number; since: number } | null = null;
  private pos = 0; // samples sent

  constructor(readonly speaker: Speaker, readonly set: 'tuning' | 'heldOut') {}

  get done(): boolean {
    return this.acts.length === 0 && this.current === null;
  }

  /**
   * Stay quiet until the NPC has spoken since (its answer, however late it comes through the pipeline) and then
   * been quiet for `ms`, and at least `minMs` has passed; move on after 8 s if it never speaks.
   */
  quiet(ms: number, minMs = 0, needSpeech = true) {
    this.acts.push({ a: 'quiet', ms, minMs, needSpeech });
  }

  say(kind: ScenarioKind, audio: Float32Array, marks: { pause?: { start: number; end: number }; gaps?: { start: number; end: number }[] } = {}) {
    const said: Said = { kind, speaker: this.speaker.name, set: this.set, start: -1, end: -1 };
    this.said.push(said);
    this.acts.push({ a: 'say', audio, said, ...marks });
    return said;
  }

  /** Say `audio` once the NPC has been talking for `afterMs` (its answer to the previous act). */
  over(said: Said, audio: Float32Array, afterMs: number, text: string) {
    this.acts.push({ a: 'over', audio, said, afterMs, text });
  }

  next(frameSamples: number, heard: Heard): Float32Array {
    const out = new Float32Array(frameSamples);
    let filled = 0;
    while (filled < frameSamples) {
      if (!this.current) {
        const act = this.acts.shift();
        if (!act) break;
        this.current = { act, pos: 0, since: this.pos + filled };
      }
      const c = this.current;
      const act = c.act;
      if (act.a === 'quiet') {
        const waited = ((this.pos + filled - c.since) / SR) * 1000;
        if (heard.talkingMs() > 0) act.heardAt ??= waited;
        if (waited >= act.minMs && (act.heardAt !== undefined || !act.needSpeech) && heard.quietMs() >= act.ms) this.current = null;
        else if (act.heardAt === undefined && waited > 8000) this.current = null; // it never answered: move on
        else if (waited > 30_000) this.current = null; // it never went quiet: move on
        else break; // silence for the rest of this frame
        continue;
      }
      if (act.a === 'over' && c.pos === 0) {
        const waited = ((this.pos + filled - c.since) / SR) * 1000;
        if (heard.talkingMs() < act.afterMs) {
          if (waited > 15_000) {
            act.said.skipped = true;
            this.current = null;
            continue;
          }
          break;
        }
      }
      const at = this.pos + filled;
      if (c.pos === 0) {
        if (act.a === 'say') {
          act.said.start = at;
          act.said.end = at + act.audio.length;
          if (act.pause) act.said.pause = { start: at + act.pause.start, end: at + act.pause.end };
          if (act.gaps) act.said.gaps = act.gaps.map((g) => ({ start: at + g.start, end: at + g.end }));
        } else {
          act.said.over = { start: at, end: at + act.audio.length, text: act.text };
        }
      }
      const n = Math.min(frameSamples - filled, act.audio.length - c.pos);
      out.set(act.audio.subarray(c.pos, c.pos + n), filled);
      c.pos += n;
      filled += n;
      if (c.pos >= act.audio.length) this.current = null;
    }
    this.pos += frameSamples;
    return out;
  }
}

// ---- the material -------------------------------------------------------------------------------------------

/** [before the pause, after it]: mid-sentence pauses a player makes while thinking. */
const PAUSE_ITEMS: Record<'tuning' | 'heldOut', [string, string][]> = {
  tuning: [
    ['I was thinking that we could', 'go to the bridge and ask the captain.'],
    ['So when I got to the reactor room', 'the alarms were already going off.'],
    ['The thing about the coolant is that', 'it has been leaking for days.'],
    ['Maybe we should check the', 'pressure valves on deck three first.'],
    ['And then the lights went out and', 'everybody started shouting at once.'],
    ['Can you tell me where', 'the engineer went this morning?'],
  ],
  heldOut: [
    ['What I really need to know is', 'how long the shields will hold.'],
    ['If we reroute power through the', 'secondary relay it might work.'],
    ['My brother used to say that', 'space is mostly waiting around.'],
    ['Do you think the doctor could', 'take a look at my arm later?'],
    ['The last time this happened we', 'lost two days of supplies.'],
  ],
};

/** Whole turns: statements, questions, and sentences with commas inside (a comma pause is not an end). */
const TURN_ITEMS: Record<'tuning' | 'heldOut', string[]> = {
  tuning: [
    'Captain, what is going on with the reactor?',
    'I fixed the pump in the cargo bay.',
    'Where should I go first?',
    'Well, if you ask me, the whole crew needs a rest.',
    'The air in the corridor smells like burnt plastic.',
    'Is anybody hurt down there?',
  ],
  heldOut: [
    'How much time do we have left?',
    'I found this strange rock near the landing site.',
    'Honestly, I think we should turn the ship around.',
    'Could you open the hatch for me?',
    'The radio has been silent since noon.',
  ],
};

/** Long turns: clauses the player strings together, pausing between them without giving up the turn. */
const LONG_ITEMS: Record<'tuning' | 'heldOut', string[][]> = {
  tuning: [
    ['So I came up from the lower decks this morning', 'and the lights were flickering in every corridor', 'and then the pressure alarms went off', 'and nobody down there knew what to do about it'],
    ['When I was a kid my father took me to see the launches', 'we would sit on the roof of our house', 'and count the seconds until the sound reached us', 'it always felt like forever'],
  ],
  heldOut: [
    ['The garden module is doing better than I expected', 'the tomatoes are finally turning red', 'but the lettuce keeps wilting under the new lamps', 'so I might swap them for the old ones'],
    ['Last night I could not sleep at all', 'I kept hearing a rattle behind the wall panel', 'so I got up and took the panel off', 'and there was a loose bolt rolling around in there'],
  ],
};

/** The phrases, for tools that study them (the turn-end weights were fitted on the tuning half). */
export const MATERIAL = { PAUSE_ITEMS, TURN_ITEMS, LONG_ITEMS };

// Synthesizers stretch a hum ("Mm-hm", "Mhm") to 0.6–1.2 s, longer than people hum, so the tokens are words.
const LISTENER_TOKENS = ['Yeah.', 'Okay.', 'Right.', 'Uh huh.', 'I see.', 'Yep.'];
const INTERRUPTIONS = ['Wait, stop, I have a question.', 'Hold on a second, that is not what I asked.', 'Sorry to interrupt, but listen to me.', 'No, no, wait, go back.'];

/** Pause lengths (ms): FDB's mid-sentence pauses run from a comma's 0.3 s to long thinking pauses. */
export const PAUSES_MS = [300, 600, 1000, 1250, 1500];

/**
 * Scripts for one speaker: every pause item at several pause lengths, every whole turn, two interruptions,
 * listener backchannels and the long turns. Greeting first (it waits for the NPC to have greeted).
 */
export async function scriptFor(speaker: Speaker, set: 'tuning' | 'heldOut', seed: number): Promise<PlayerScript> {
  const p = new PlayerScript(speaker, set);
  const rnd = seededRandom(seed);
  p.quiet(1200, 2500, false); // the greeting, if it has not played already

  const pauses = PAUSE_ITEMS[set];
  for (let k = 0; k < pauses.length; k++) {
    const [a, b] = pauses[k]!;
    const raw = await speak(speaker, a + PAUSE + b);
    // Two pause lengths per item, cycling through the whole range across items.
    for (const pauseMs of [PAUSES_MS[k % PAUSES_MS.length]!, PAUSES_MS[(k + 2) % PAUSES_MS.length]!]) {
      const { samples, pauseStart, pauseEnd } = setPause(raw, pauseMs);
      p.say('pause', samples, { pause: { start: pauseStart, end: pauseEnd } });
      p.quiet(1500, 2500);
    }
  }
  for (const text of TURN_ITEMS[set]) {
    p.say('smooth', await speak(speaker, text));
    p.quiet(1500, 2500);
  }
  const turns = TURN_ITEMS[set];
  for (let k = 0; k < 2; k++) {
    const ask = p.say('interrupt', await speak(speaker, turns[(k + 1) % turns.length]!));
    const text = INTERRUPTIONS[(seed + k) % INTERRUPTIONS.length]!;
    p.over(ask, await speak(speaker, text), 700 + rnd() * 800, text);
    p.quiet(1500, 2500);
  }
  for (let k = 0; k < 3; k++) {
    const ask = p.say('listener', await speak(speaker, turns[(k + 3) % turns.length]!));
    const text = LISTENER_TOKENS[(seed * 3 + k) % LISTENER_TOKENS.length]!;
    p.over(ask, await speak(speaker, text), 600 + rnd() * 900, text);
    p.quiet(1500, 2500);
  }
  for (const clauses of LONG_ITEMS[set]) {
    // Clauses said as one utterance with the synthesizer's own phrase breaks, then pauses of 0.3–1.2 s set.
    const parts: Float32Array[] = [];
    const gaps: { start: number; end: number }[] = [];
    let length = 0;
    for (let i = 0; i < clauses.length - 1; i++) {
      const pair = await speak(speaker, clauses[i] + PAUSE + clauses[i + 1]);
      const { samples, pauseStart } = setPause(pair, 0);
      // Keep this clause as said before the break (its continuation prosody); the last clause comes whole below.
      parts.push(samples.subarray(0, pauseStart));
      length += pauseStart;
      const gap = ms(300 + rnd() * 900);
      gaps.push({ start: length, end: length + gap });
      parts.push(new Float32Array(gap));
      length += gap;
    }
    const lastPair = await speak(speaker, clauses.at(-2) + PAUSE + clauses.at(-1));
    const cut = setPause(lastPair, 0);
    parts.push(cut.samples.subarray(cut.pauseEnd));
    const audio = concat(parts);
    p.say('long', audio, { gaps });
    p.quiet(1500, 2500);
  }
  return p;
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.length));
  return out;
}

