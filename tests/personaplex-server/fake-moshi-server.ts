/**
 * Stand-in for `python -m moshi.server` as a process, for managed-mode tests: prints the official server's
 * loading log lines (same wording, logging format and a tqdm download bar on stderr), then serves the stand-in
 * server on --port. Run as: node --import tsx fake-moshi-server.ts --port N [--load-ms N] [--exit-after-ms N] [--echo]
 */
import { StandInServer } from './stand-in-server.ts';

const arg = (name: string, dflt?: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const port = arg('port')!;
const loadMs = arg('load-ms', 600)!;
const exitAfterMs = arg('exit-after-ms');
const mode = process.argv.includes('--echo') ? 'echo' : 'speak';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (msg: string) => console.log(`${new Date().toISOString().replace('T', ' ').slice(0, 23)} - __main__ - INFO - ${msg}`);

log('retrieving voice prompts');
log('voice_prompt_dir = /root/.cache/huggingface/hub/voices');
log('loading mimi');
await sleep(loadMs / 6);
log('mimi loaded');
log('loading moshi');
for (const pct of [0, 25, 50, 75, 100]) {
  process.stderr.write(`model.safetensors: ${String(pct).padStart(3)}%|${'#'.repeat(pct / 10).padEnd(10)}| ${pct * 167}M/16.7G [00:01<00:03]\r`);
  await sleep(loadMs / 12);
}
process.stderr.write('\n');
log('moshi loaded');
log('warming up the model');
await sleep(loadMs / 6);
const server = await StandInServer.start({ port, promptMs: 100, mode });
log(`Access the Web UI directly at http://127.0.0.1:${server.port}`);
if (exitAfterMs !== undefined) {
  setTimeout(() => {
    console.error('Traceback (most recent call last): CUDA error: an illegal memory access was encountered');
    process.exit(1);
  }, exitAfterMs);
}
