/**
 * personaplex-onnx on the tiny stand-in bundle, CPU: step time (all graphs, one batched step) against batch
 * size. Measures the engine's own overhead (Mimi windows, ring, sampling over 32000/2048 logits, KV batching,
 * 1 temporal + 8 depformer runs), not the 7B model; for that see bench/personaplex-onnx-gpu.ts.
 */
import { measureTicks, tinyModelDir } from './personaplex-onnx-gpu.ts';
import { silentLogger } from '../server/log.ts';

export default async function bench(): Promise<Record<string, number>> {
  const { dir, cleanup } = await tinyModelDir();
  try {
    const figures = await measureTicks({ modelDir: dir, providers: ['cpu'], log: silentLogger }, [1, 2, 4, 8, 16], 15, { kind: 'builtin', id: 'NATF0' });
    const out: Record<string, number> = {};
    for (const f of figures) {
      out[`personaplex_onnx_tiny_cpu_step_ms_b${f.sessions}`] = Number(f.mean_ms.toFixed(2));
      out[`personaplex_onnx_tiny_cpu_step_ms_per_session_b${f.sessions}`] = Number((f.mean_ms / f.sessions).toFixed(2));
    }
    out.personaplex_onnx_tiny_cpu_open_fresh_prompt_ms = Number(figures[0]!.open_first_ms.toFixed(1));
    return out;
  } finally {
    await cleanup();
  }
}
