/**
 * The server's own cost with stand-in players over loopback: CPU time per session-frame excluding the engine
 * (intake, hearing mix, conductor, encoding and sending voice out), tick lateness p50/p99, at 1, 8, 32 and 64
 * sessions; and bytes per second per stream for Opus and PCM16.
 * The engine is the in-thread echo stand-in, whose own CPU time is measured and subtracted.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { createParleyServer } from '../server/app.ts';
import { silentLogger } from '../server/log.ts';
import { ScriptedEngine } from '../tests/stand-ins/scripted-engine.ts';
import { inlineNpcs } from '../tests/support/test-server.ts';
import type { DuplexEngine, StepInput } from '../server/engines/contract.ts';
import type { Codec } from '../protocol/codecs.ts';
import { OpusFrameDecoder, OpusFrameEncoder } from '../server/codec/opus.ts';
import { speechLike } from './support/speech-like.ts';

const CLIENTS = fileURLToPath(new URL('./support/load-clients.ts', import.meta.url));
const TSX = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));
const WARMUP_S = 3;
const MEASURE_S = 8;

function percentile(xs: number[], p: number) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
}

/** Wraps an engine to measure the CPU its (synchronous, in-thread) step takes, so it can be subtracted. */
function timed(engine: DuplexEngine) {
  const box = { cpuUs: 0, sessionFrames: 0 };
  const step = engine.step.bind(engine);
  engine.step = (batch: StepInput[]) => {
    const t0 = process.cpuUsage();
    const out = step(batch);
    const d = process.cpuUsage(t0);
    box.cpuUs += d.user + d.system;
    box.sessionFrames += batch.length;
    return out;
  };
  return box;
}

async function run(sessions: number, codec: Codec) {
  const engine = new ScriptedEngine({ mode: 'echo', capacity: sessions });
  const engineCpu = timed(engine);
  const lateness: number[] = [];
  let measuring = false;
  const npcs = Object.fromEntries(Array.from({ length: sessions }, (_, i) => [`npc${i}`, { hearingRadius: 6, audibleRadius: 12 }]));
  const server = createParleyServer({
    engine,
    npcs: inlineNpcs(npcs),
    rooms: { bench: { npcs: Array.from({ length: sessions }, (_, i) => ({ sheet: `npc${i}`, position: [i * 40, 0, 0] as [number, number, number] })), maxPlayers: sessions } },
    handleSignals: false,
    serveStatic: false,
    log: silentLogger,
    observeTick: (late) => measuring && lateness.push(late),
  });
  const port = await server.listen(0, '127.0.0.1');
  const child = spawn(TSX, [CLIENTS, `ws://127.0.0.1:${port}`, 'bench', String(sessions), codec, String(WARMUP_S + MEASURE_S)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const next = () => new Promise<Record<string, number>>((resolve) => lines.once('line', (l) => resolve(JSON.parse(l))));
  await next(); // ready
  await new Promise((r) => setTimeout(r, WARMUP_S * 1000));
  const m = server.metrics;
  const bytes0 = { in: m.bytesReceived.get({ stream: 'voice' }), out: m.bytesSent.get({ stream: 'npc_voice', codec }) };
  const eng0 = { ...engineCpu };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  measuring = true;
  await new Promise((r) => setTimeout(r, MEASURE_S * 1000 - 200));
  measuring = false;
  const cpu = process.cpuUsage(cpu0);
  const elapsedS = (performance.now() - t0) / 1000;
  const engineUs = engineCpu.cpuUs - eng0.cpuUs;
  const sessionFrames = engineCpu.sessionFrames - eng0.sessionFrames;
  const bytesIn = m.bytesReceived.get({ stream: 'voice' }) - bytes0.in;
  const bytesOut = m.bytesSent.get({ stream: 'npc_voice', codec }) - bytes0.out;
  await next(); // clients done
  await server.shutdown();
  return {
    cpuMsPerSessionFrame: (cpu.user + cpu.system - engineUs) / 1000 / Math.max(1, sessionFrames),
    sessionFramesPerSecond: sessionFrames / elapsedS,
    p50: percentile(lateness, 50),
    p99: percentile(lateness, 99),
    kbpsIn: (bytesIn * 8) / 1000 / elapsedS / sessions,
    kbpsOut: (bytesOut * 8) / 1000 / elapsedS / sessions,
  };
}

/** The codec's share of the per-session cost: one Opus encode (voice out) and decode (voice in) per frame. */
function opusCost() {
  const src = speechLike(3);
  const frames = Array.from({ length: 250 }, () => src());
  const enc = new OpusFrameEncoder();
  const t0 = process.cpuUsage();
  const packets = frames.map((f) => enc.encode(f));
  const e = process.cpuUsage(t0);
  const dec = new OpusFrameDecoder();
  const t1 = process.cpuUsage();
  for (const p of packets) dec.decode(p);
  const d = process.cpuUsage(t1);
  return { encodeMs: (e.user + e.system) / 1000 / frames.length, decodeMs: (d.user + d.system) / 1000 / frames.length };
}

export default async function serverBench(): Promise<Record<string, number>> {
  const figures: Record<string, number> = {};
  const opus = opusCost();
  figures.opus_encode_cpu_ms_per_frame = opus.encodeMs;
  figures.opus_decode_cpu_ms_per_frame = opus.decodeMs;
  // BENCH_SERVER_SESSIONS=32 runs one size only (e.g. under --cpu-prof)
  const sizes = process.env.BENCH_SERVER_SESSIONS ? process.env.BENCH_SERVER_SESSIONS.split(',').map(Number) : [1, 8, 32, 64];
  for (const n of sizes) {
    process.stderr.write(`  server: ${n} session(s), opus ...\n`);
    const r = await run(n, 'opus');
    figures[`server_cpu_ms_per_session_frame_${n}`] = r.cpuMsPerSessionFrame;
    figures[`server_session_frames_per_s_${n}`] = r.sessionFramesPerSecond;
    figures[`server_tick_lateness_p50_ms_${n}`] = r.p50;
    figures[`server_tick_lateness_p99_ms_${n}`] = r.p99;
    if (n === 8) {
      figures.opus_player_voice_kbit_per_s = r.kbpsIn;
      figures.opus_npc_voice_kbit_per_s = r.kbpsOut;
    }
  }
  if (process.env.BENCH_SERVER_SESSIONS) return figures;
  process.stderr.write('  server: 8 sessions, pcm16 ...\n');
  const pcm = await run(8, 'pcm16');
  figures.pcm16_player_voice_kbit_per_s = pcm.kbpsIn;
  figures.pcm16_npc_voice_kbit_per_s = pcm.kbpsOut;
  figures.opus_to_pcm16_bitrate_ratio = figures.opus_npc_voice_kbit_per_s! / pcm.kbpsOut;
  return figures;
}
