/**
 * The hearing stage, once per tick: take each player's next voice frame from its intake, weigh every player for
 * every NPC (distance, facing, hearing radius), mix each NPC's input, say which players each NPC can hear
 * (its demand for a session) and which NPC hears each player best.
 */
import type { Vec3 } from '../../protocol/messages.ts';
import type { ParleyMetrics } from '../metrics/parley-metrics.ts';
import type { NpcStream } from '../sessions/npc-stream.ts';
import { distance, hearingWeight } from './hearing.ts';
import { SILENCE, type PlayerVoiceIntake } from './intake.ts';
import type { NpcHearing } from '../scenes/npc-hearing.ts';
import { playerGainFor } from '../scenes/interruption-ducking.ts';
import type { Addressees } from '../scenes/addressee.ts';
import type { SceneFloor } from '../scenes/floor.ts';
import { rms } from '../../protocol/dsp/level.ts';

/** A player's voice, weighted, at or above this RMS in an NPC's ears counts as heard (it outranks NPC voices). */
const PLAYER_HEARD_RMS = 0.01;

/** What the stage needs of a player. */
export interface HearingPlayer {
  position: Vec3;
  facing: Vec3;
  /** null until the player's hello */
  intake: PlayerVoiceIntake | null;
  /** removes the NPC voices this player's speakers played from its uplink (server/voice/echo-gate.ts) */
  echoGate?: { filter(frame: Float32Array): Float32Array } | null;
  /** synced: the NPC that hears this player best, '' when none; `id` (its session id) names it to `addressees` */
  state: { heardBy: string; id?: string };
  /** false: heard in the mix but no reason to open a session (no hello yet; set by the room) */
  countsForDemand?: boolean;
  /** its voice is arriving: its demand outranks players who only stand near (set by the room) */
  voiced?: boolean;
}

export class HearingStage {
  private frames: Float32Array[] = [];
  private weights: number[] = [];
  private players: readonly HearingPlayer[] = [];
  private levels: number[] = [];
  /** NPCs hearing NPCs (server/scenes/npc-hearing.ts); null: NPCs hear players only */
  npcVoices: NpcHearing | null = null;
  /** who each NPC heard loudest lately, for `talkingTo` (server/scenes/addressee.ts); null: not tracked */
  addressees: Addressees | null = null;
  /** one addressee per player turn (server/scenes/floor.ts); null: every NPC answers what it hears */
  floor: SceneFloor | null = null;
  /**
   * model engines: players' voices quieter in a speaking hold / talk_over NPC's ears, and in a silent NPC's whose
   * floor is elsewhere (server/scenes/interruption-ducking.ts)
   */
  duckForPolicies = false;

  constructor(private readonly metrics: ParleyMetrics) {}

  /** `earlyMs`: the tick fired this long before its deadline (conductor.ts, every frame it waits for was in). */
  run(players: readonly HearingPlayer[], streamsIn: Iterable<NpcStream>, earlyMs = 0) {
    const streams = [...streamsIn];
    const levels = this.levels;
    levels.length = players.length;
    this.players = players;
    const frames = this.frames;
    const weights = this.weights;
    frames.length = weights.length = players.length;
    players.forEach((p, i) => {
      const stats = p.intake?.buffer.stats;
      // a slot with no frame of its own: lost or late (missing), or the tick that widened the buffer (held)
      const unfilled = stats ? stats.missing + stats.held : 0;
      const trimmed = stats?.trimmed ?? 0;
      const frame = p.intake?.pop(earlyMs) ?? SILENCE;
      if (stats && stats.missing + stats.held > unfilled) this.metrics.framesMissing.inc();
      if (stats && stats.trimmed > trimmed) this.metrics.framesDropped.inc({ stream: 'player_voice', reason: 'trimmed' });
      const wait = p.intake?.buffer.lastWait;
      if (wait) {
        this.metrics.uplinkTickWait.observe(wait.tickMs / 1000);
        this.metrics.uplinkBufferWait.observe(wait.heldMs / 1000);
      }
      frames[i] = p.echoGate ? p.echoGate.filter(frame) : frame;
      levels[i] = this.npcVoices || this.floor ? rms(frames[i]!) : 0;
    });
    const best: { npc: string; w: number }[] = players.map(() => ({ npc: '', w: 0 }));
    for (const npc of streams) {
      // Heard at the NPC's ear (its position is where it stands), from the player's pose (their eyes, near the mouth).
      const ear: Vec3 = [npc.position[0], npc.position[1] + npc.earHeight, npc.position[2]];
      const listener = { position: ear, facing: npc.facing, hearingRadius: npc.def.hearingRadius };
      let nearest = Infinity;
      let voiced = false;
      let playerHeard = false;
      let loudest = '';
      let loudestRms = 0;
      const gain = this.duckForPolicies ? playerGainFor(npc) : 1;
      players.forEach((p, i) => {
        const w = hearingWeight(listener, { position: p.position, facing: p.facing });
        weights[i] = w * gain;
        if (w > 0) {
          const heard = w * levels[i]!;
          playerHeard ||= heard >= PLAYER_HEARD_RMS;
          if (heard >= PLAYER_HEARD_RMS && p.state.id) {
            this.floor?.heard(npc.id, p.state.id, heard);
            if (heard > loudestRms) [loudest, loudestRms] = [p.state.id, heard];
          }
          if (p.countsForDemand !== false) {
            nearest = Math.min(nearest, distance(npc.position, p.position));
            voiced ||= p.voiced === true;
          }
          if (w > best[i]!.w) best[i] = { npc: npc.id, w };
        }
      });
      npc.demand = { inRange: nearest < Infinity, nearest, ...(voiced ? { voiced } : {}) };
      if (playerHeard) this.npcVoices?.playerHeard(npc);
      const others = this.npcVoices?.sourcesFor(npc, streams);
      if (this.addressees) {
        // players first: an NPC voice names the addressee only in a tick with no player heard
        if (!playerHeard && others) {
          others.frames.forEach((f, k) => {
            const heard = others.weights[k]! * rms(f);
            if (heard >= PLAYER_HEARD_RMS && heard > loudestRms) [loudest, loudestRms] = [others.ids[k]!, heard];
          });
        }
        if (loudest) this.addressees.heard(npc.id, loudest, playerHeard ? 'player' : 'npc');
      }
      npc.input = others ? npc.mixer.mix([...frames, ...others.frames], [...weights, ...others.weights]) : npc.mixer.mix(frames, weights);
    }
    players.forEach((p, i) => {
      if (p.state.heardBy !== best[i]!.npc) p.state.heardBy = best[i]!.npc;
    });
  }

  /**
   * How much earlier (ms; negative: later) the tick could fire with every player's frames still in before it:
   * the least of the players' wishes (server/voice/uplink-jitter-buffer.ts), null when no player has one yet.
   * The conductor moves the tick grid by a little of it each tick, so the tick's phase stops adding up to a
   * frame of waiting (with one player, or players whose frames arrive in step; others wait for their phase).
   */
  phaseWishMs(): number | null {
    let wish: number | null = null;
    for (const p of this.players) {
      const w = p.intake?.buffer.phaseWishMs() ?? null;
      if (w !== null && (wish === null || w < wish)) wish = w;
    }
    return wish;
  }

  /** Whether every player still sending has its frame for the coming tick in (players not sending are not waited on). */
  readyForTick(): boolean {
    const now = performance.now();
    for (const p of this.players) if (p.intake?.buffer.readyForTick(now) === false) return false;
    return true;
  }

  /** The tick grid moved `ms` earlier. */
  phaseShifted(ms: number) {
    for (const p of this.players) p.intake?.buffer.shifted(ms);
  }
}
