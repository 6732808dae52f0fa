/**
 * Managed mode: Parley starts the official server itself (e.g. `python -m moshi.server --port 8998`), turns its
 * log lines into loading progress, and the pool restarts it when it dies. The log lines matched are those of
 * NVIDIA/personaplex `moshi/moshi/server.py` (logger "… - INFO - loading mimi", …) and huggingface_hub's tqdm
 * download bars ("model.safetensors:  45%|…").
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { OpenProgress } from '../contract.ts';

export interface ManagedCommand {
  command: string;
  args?: string[];
  cwd?: string;
  /** added to Parley's own environment (PYTHONUNBUFFERED=1 is set so log lines arrive as they are written) */
  env?: Record<string, string>;
}

const STAGES: { match: RegExp; phase: string; fraction: number }[] = [
  { match: /retrieving voice prompts/, phase: 'fetching voices', fraction: 0.02 },
  { match: /retrieving the static content/, phase: 'fetching web UI', fraction: 0.04 },
  { match: /loading mimi/, phase: 'loading Mimi', fraction: 0.05 },
  { match: /mimi loaded/, phase: 'Mimi loaded', fraction: 0.1 },
  { match: /loading moshi/, phase: 'loading PersonaPlex weights', fraction: 0.12 },
  { match: /moshi loaded/, phase: 'weights loaded', fraction: 0.8 },
  { match: /warming up the model/, phase: 'warming up', fraction: 0.85 },
  { match: /Access the Web UI directly at|serving static content/, phase: 'starting web server', fraction: 0.95 },
];
const DOWNLOAD = /([\w.-]+):\s+(\d{1,3})%\|/;

/** Folds one log line into the loading progress; returns the new progress when it changed. */
export function progressFromLog(line: string, current: OpenProgress): OpenProgress | null {
  for (const s of STAGES) if (s.match.test(line)) return s.fraction >= current.fraction ? { phase: s.phase, fraction: s.fraction } : null;
  const dl = DOWNLOAD.exec(line);
  if (dl) {
    const pct = Math.min(100, Number(dl[2]));
    // Downloads happen inside "loading …" stages; the weights dominate, so they get most of the bar.
    const big = current.fraction >= 0.12 && current.fraction < 0.8;
    const fraction = big ? Math.max(current.fraction, 0.12 + (0.68 * pct) / 100) : current.fraction;
    return { phase: `downloading ${dl[1]} ${pct}%`, fraction };
  }
  return null;
}

export interface ManagedEvents {
  log(line: string): void;
  progress(p: OpenProgress): void;
  exit(reason: string): void;
}

/** One run of the command. The pool makes a new one to restart. */
export class ManagedProcess {
  private child: ChildProcess;
  progress: OpenProgress = { phase: 'starting process', fraction: 0 };
  exited = false;

  constructor(cmd: ManagedCommand, private readonly events: ManagedEvents) {
    this.child = spawn(cmd.command, cmd.args ?? [], {
      cwd: cmd.cwd,
      env: { ...process.env, PYTHONUNBUFFERED: '1', ...cmd.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const onLine = (line: string) => {
      if (!line.trim()) return;
      events.log(line);
      const next = progressFromLog(line, this.progress);
      if (next) {
        this.progress = next;
        events.progress(next);
      }
    };
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        // tqdm redraws with \r; treat it as a line end too
        const parts = (rest + chunk).split(/\r\n|\r|\n/);
        rest = parts.pop() ?? '';
        if (rest.length > 4096) rest = rest.slice(-4096);
        for (const p of parts) onLine(p);
      });
    }
    this.child.on('error', (err) => this.onExit(`could not start ${cmd.command}: ${err.message}`));
    this.child.on('exit', (code, sig) => this.onExit(sig ? `server process killed by ${sig}` : `server process exited with code ${code}`));
  }

  private onExit(reason: string) {
    if (this.exited) return;
    this.exited = true;
    this.events.exit(reason);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** SIGTERM, then SIGKILL if it lingers. Resolves when it is gone. */
  stop(graceMs = 5000): Promise<void> {
    if (this.exited || this.child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const kill = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      this.child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      this.child.kill('SIGTERM');
    });
  }

  kill() {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}
