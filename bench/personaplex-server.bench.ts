/**
 * personaplex-server engine: codec cost per session-frame, main event-loop load with several sessions (Opus in
 * worker threads vs inline), and end-to-end latency through the stand-in server (echo mode) at real-time pacing.
 * The stand-in servers run as separate processes (the fake moshi.server), so their work is not counted here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { PersonaPlexServerEngine } from '../server/engines/personaplex-server/engine.ts';
import { DownstreamDecoder, UpstreamEncoder } from '../server/engines/personaplex-server/stream-codec.ts';

const FAKE = fileURLToPath(new URL('../tests/personaplex-server/fake-moshi-server.ts', import.meta.url));
const SESSIONS = 4;
const FRAMES = 100; // 8 s at real time per mode
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tone = (k: number) => Float32Array.from({ length: 1920 }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * (k * 1920 + i)) / 24_000));
const rms = (x: Float32Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function codecCost(): Record<string, number> {
  const up = new UpstreamEncoder();
  const down = new DownstreamDecoder();
  const pages: Uint8Array[] = [];
  const n = 300;
  let t = performance.now();
  for (let k = 0; k < n; k++) pages.push(...up.encode(tone(k)));
  const enc = (performance.now() - t) / n;
  t = performance.now();
  for (const p of pages) down.pushAudio(p);
  const dec = (performance.now() - t) / n;
  return { pps_opus_ogg_encode_ms_per_frame: enc, pps_opus_ogg_decode_ms_per_frame: dec };
}

async function run(codec: 'inline' | 'worker', ports: number[]): Promise<Record<string, number>> {
  const engine = await PersonaPlexServerEngine.start({
    servers: ports.map((p) => ({ url: `http://127.0.0.1:${p}`, capacity: 1 })),
    codec,
  });
  try {
    const persona = { id: 'b', name: 'B', textPrompt: 'You are a bench.', voice: { kind: 'builtin' as const, id: 'NATM1' as const } };
    const ids = [];
    for (let i = 0; i < SESSIONS; i++) ids.push(await engine.open(persona));
    const stepMs: number[] = [];
    const onset: number[] = [];
    let errors = 0;
    const elu0 = performance.eventLoopUtilization();
    const start = performance.now();
    for (let k = 0; k < FRAMES; k++) {
      const loud = k % 25 === 5; // one loud frame a second, echoed back
      const t = performance.now();
      const out = await engine.step(ids.map((session) => ({ session, input: loud ? tone(k) : new Float32Array(1920) })));
      stepMs.push(performance.now() - t);
      errors += out.filter((o) => o.error).length;
      if (rms(out[0]!.output) > 0.05) onset.push(k);
      await sleep(Math.max(0, start + (k + 1) * 80 - performance.now()));
    }
    const elu = performance.eventLoopUtilization(elu0);
    if (errors) throw new Error(`${errors} session errors during the bench`);
    // echo latency: first loud output frame after each loud input frame
    const lat = [5, 30, 55, 80].map((k0) => onset.find((k) => k > k0)).filter((k): k is number => k !== undefined).map((k, i) => k - [5, 30, 55, 80][i]!);
    stepMs.sort((a, b) => a - b);
    return {
      [`pps_${codec}_step_ms_p50_${SESSIONS}_sessions`]: stepMs[stepMs.length >> 1]!,
      [`pps_${codec}_step_ms_max_${SESSIONS}_sessions`]: stepMs.at(-1)!,
      [`pps_${codec}_main_loop_busy_pct_${SESSIONS}_sessions`]: elu.utilization * 100,
      [`pps_${codec}_echo_latency_frames`]: lat.length ? Math.max(...lat) : -1,
    };
  } finally {
    await engine.dispose();
  }
}

/** Resolves once the stand-in on `port` answers HTTP (its 404 for GET / counts), within 90 s. */
async function answering(port: number): Promise<void> {
  const until = Date.now() + 90_000;
  while (Date.now() < until) {
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      return;
    } catch {
      await sleep(200);
    }
  }
  throw new Error(`the PersonaPlex stand-in on port ${port} did not come up in 90 s`);
}

export default async function bench(): Promise<Record<string, number>> {
  const figures: Record<string, number> = codecCost();
  process.stderr.write(`  codec: ${figures.pps_opus_ogg_encode_ms_per_frame!.toFixed(3)} ms encode, ${figures.pps_opus_ogg_decode_ms_per_frame!.toFixed(3)} ms decode per frame\n`);
  const ports = await Promise.all(Array.from({ length: SESSIONS }, freePort));
  const children: ChildProcess[] = ports.map((p) =>
    spawn(process.execPath, ['--import', 'tsx', FAKE, '--port', String(p), '--load-ms', '0', '--echo'], { stdio: 'ignore' }),
  );
  try {
    await Promise.all(ports.map(answering)); // the stand-ins come up (tsx and the codec's wasm take a while on a loaded machine)
    for (const codec of ['inline', 'worker'] as const) {
      process.stderr.write(`  ${SESSIONS} sessions, ${codec} codec, ${FRAMES} frames at real time…\n`);
      Object.assign(figures, await run(codec, ports));
    }
  } finally {
    for (const c of children) c.kill();
  }
  return figures;
}
