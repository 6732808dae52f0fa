/**
 * A stand-in module for WorkerHost tests (not an engine): echoes, reports progress, fails with a typed error,
 * hangs, crashes its thread, and logs, on request.
 */
import { EngineFailure } from '../../../server/engines/contract.ts';
import { serve } from '../../../server/engines/worker/serve.ts';

export type StandInRequest =
  | { op: 'echo'; value: unknown }
  | { op: 'progress'; steps: number }
  | { op: 'reject'; kind: 'busy' | 'rejected' }
  | { op: 'throw' }
  | { op: 'hang' }
  | { op: 'crash' }
  | { op: 'log'; message: string }
  | { op: 'buffer'; length: number };

serve<StandInRequest>((log) => (req, ctx) => {
  switch (req.op) {
    case 'echo':
      return req.value;
    case 'progress':
      for (let i = 1; i <= req.steps; i++) ctx.progress(i / req.steps);
      return 'done';
    case 'reject':
      throw new EngineFailure(req.kind, `stand-in says ${req.kind}`);
    case 'throw':
      throw new Error('plain failure');
    case 'hang':
      for (;;);
    case 'crash':
      process.exit(3);
    case 'log':
      log.child({ part: 'stand-in' }).warn({ detail: 7 }, req.message);
      return true;
    case 'buffer': {
      const b = new Float32Array(req.length).fill(0.5);
      ctx.transfer([b.buffer]);
      return b;
    }
  }
});
