/**
 * A stand-in module for the detached-request test (not an engine): 'wait' is detached and finishes only when a
 * later 'release' is handled; 'pause' takes a while; 'echo' answers at once.
 */
import { serve } from '../../../server/engines/worker/serve.ts';

export type DetachedRequest = { op: 'wait' } | { op: 'release' } | { op: 'pause'; ms: number } | { op: 'echo'; value: unknown };

serve<DetachedRequest>(
  () => {
    let open: () => void = () => undefined;
    let gate = new Promise<void>((r) => (open = r));
    let pausing = false;
    return async (req) => {
      switch (req.op) {
        case 'wait': {
          const started = pausing ? 'started during a pause' : 'started after it';
          await gate;
          return started;
        }
        case 'release':
          open();
          gate = new Promise<void>((r) => (open = r));
          return 'released';
        case 'pause':
          pausing = true;
          await new Promise((r) => setTimeout(r, req.ms));
          pausing = false;
          return 'paused';
        case 'echo':
          return req.value;
      }
    };
  },
  { detached: (req) => req.op === 'wait' },
);
