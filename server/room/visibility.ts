/**
 * Who sees which players: each client's StateView holds its own player (all fields, `heardBy` included) and the
 * other players within a visibility radius (pose only), refreshed every few ticks. Nobody learns where players
 * far away are, or which NPC hears whom.
 */
import { StateView } from '@colyseus/schema';
import type { Vec3 } from '../../protocol/messages.ts';
import { distance } from '../voice/hearing.ts';
import { SELF, type PlayerState } from './state.ts';

export const VISIBLE_RADIUS = 20;

export interface Viewer {
  client: { view?: StateView };
  position: Vec3;
  state: PlayerState;
}

export class Visibility {
  private seen = new Map<Viewer, Set<Viewer>>();

  constructor(readonly radius = VISIBLE_RADIUS) {}

  join(v: Viewer) {
    const view = new StateView();
    view.add(v.state);
    view.add(v.state, SELF);
    v.client.view = view;
    this.seen.set(v, new Set());
  }

  leave(v: Viewer) {
    this.seen.delete(v);
    for (const others of this.seen.values()) others.delete(v);
  }

  /** Add players who came within the radius to each view, remove those who left it. */
  refresh() {
    for (const [viewer, shown] of this.seen) {
      const view = viewer.client.view;
      if (!view) continue;
      for (const other of this.seen.keys()) {
        if (other === viewer) continue;
        const near = distance(viewer.position, other.position) <= this.radius;
        if (near && !shown.has(other)) {
          view.add(other.state);
          shown.add(other);
        } else if (!near && shown.has(other)) {
          view.remove(other.state);
          shown.delete(other);
        }
      }
    }
  }
}
