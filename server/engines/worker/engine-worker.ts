/**
 * Engine worker: hosts one in-thread DuplexEngine built by the module named in 'init' and answers the pool's
 * requests in order (serve.ts), except that an open is detached: the steps sent while it prepares a session
 * (a PersonaPlex prompt prefill can take seconds) run meanwhile, as they would with the engine in-process, so a
 * joining NPC does not make the others' ticks late. Blocking work (ONNX runs, TTS) happens here, never on the
 * room's event loop.
 */
import type { Logger } from '../../log.ts';
import type { DuplexEngine, Persona, SessionId, StepInput } from '../contract.ts';
import { serve } from './serve.ts';

/** Main thread → engine worker. */
export type EngineRequest =
  | { op: 'init'; module: string; options: unknown }
  | { op: 'open'; persona: Persona }
  | { op: 'step'; batch: StepInput[] }
  | { op: 'close'; session: SessionId }
  | { op: 'dispose' };

export interface EngineInfo {
  name: string;
  label: string;
  capacity: number;
  textLeadFrames: number;
}

/** What a hosted engine module exports: its engine, built in the worker from plain (cloneable) options. */
export type CreateEngine = (options: unknown, log: Logger) => DuplexEngine | Promise<DuplexEngine>;

serve<EngineRequest>((log) => {
  let engine: DuplexEngine | null = null;
  /** opens in flight (detached): dispose waits for them so the engine is not torn down under a prefill */
  const opening = new Set<Promise<unknown>>();
  return async (req, ctx) => {
    if (req.op === 'init') {
      const mod = (await import(req.module)) as { createEngine?: CreateEngine };
      if (typeof mod.createEngine !== 'function') throw new Error(`${req.module} exports no createEngine()`);
      engine = await mod.createEngine(req.options, log);
      const { name, label, capacity, textLeadFrames } = engine;
      return { name, label, capacity, textLeadFrames } satisfies EngineInfo;
    }
    if (!engine) throw new Error('engine worker used before init');
    switch (req.op) {
      case 'open': {
        const p = engine.open(req.persona, { onProgress: (p) => ctx.progress(p) });
        opening.add(p);
        try {
          return await p;
        } finally {
          opening.delete(p);
        }
      }
      case 'step': {
        const outputs = await engine.step(req.batch);
        ctx.transfer(outputs.map((o) => o.output.buffer as ArrayBuffer).filter((b, i, all) => all.indexOf(b) === i));
        return outputs;
      }
      case 'close':
        return engine.close(req.session);
      case 'dispose':
        await Promise.allSettled(opening);
        return engine.dispose();
    }
  };
}, { detached: (req) => req.op === 'open' });
