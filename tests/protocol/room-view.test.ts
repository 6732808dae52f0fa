/**
 * The server's room state satisfies the views clients read it through (protocol/room-view.ts): checked by the
 * compiler (the assignments below stop type-checking when the schema drifts) and at run time on a real state.
 */
import { describe, expect, it } from 'vitest';
import { NPC_STATUSES } from '../../protocol/messages.ts';
import { npcStatusOf, type NpcView, type PlayerView, type RoomStateView } from '../../protocol/room-view.ts';
import { NpcState, ParleyState, PlayerState } from '../../server/room/state.ts';

// Type level: each schema instance type is assignable to its view (fails `npm run typecheck` when it is not).
type Satisfies<T, View> = T extends View ? true : false;
const playerOk: Satisfies<PlayerState, PlayerView> = true;
const npcOk: Satisfies<NpcState, NpcView> = true;
const stateOk: Satisfies<ParleyState, RoomStateView> = true;

describe('room views', () => {
  it('the server schema satisfies the views', () => {
    expect([playerOk, npcOk, stateOk]).toEqual([true, true, true]);
  });

  it('reads a real room state through the views', () => {
    const state = new ParleyState();
    const npc = new NpcState();
    Object.assign(npc, { id: 'alex', name: 'Alex', status: 'warming', progress: 0.5, x: 1.5, z: 26 });
    state.npcs.set('alex', npc);
    const player = new PlayerState();
    Object.assign(player, { id: 'p1', heardBy: 'alex', y: 1.7 });
    state.players.set('p1', player);
    state.engine = 'rehearsal';

    const view: RoomStateView = state;
    expect(view.engine).toBe('rehearsal');
    expect(view.npcs.get('alex')?.name).toBe('Alex');
    expect(view.npcs.get('alex')?.progress).toBe(0.5);
    expect(npcStatusOf(view.npcs.get('alex'))).toBe('warming');
    const heard: string[] = [];
    view.players.forEach((p, id) => heard.push(`${id}:${p.heardBy}`));
    expect(heard).toEqual(['p1:alex']);
  });

  it('reads an unknown or missing status as idle', () => {
    expect(npcStatusOf(undefined)).toBe('idle');
    expect(npcStatusOf({ status: 'dancing' })).toBe('idle');
    for (const s of NPC_STATUSES) expect(npcStatusOf({ status: s })).toBe(s);
  });
});
