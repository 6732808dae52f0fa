/**
 * `parley personaplex <subcommand>`: operator tools for the in-process PersonaPlex engine (personaplex-onnx).
 * Each subcommand is one entry in SUBCOMMANDS (its own module for anything larger than a few lines).
 */
import path from 'node:path';
import type { Io } from './sheets.ts';
import { parseArgs, UsageError } from './args.ts';
import { formatPlan, planCapacity, readExportFacts } from '../engines/personaplex-onnx/capacity.ts';
import { VERIFY_USAGE, runVerify } from './personaplex-verify.ts';

type Subcommand = { usage: string; run: (argv: string[], io: Io) => Promise<number> };

export const SUBCOMMANDS: Record<string, Subcommand> = {
  verify: { usage: VERIFY_USAGE, run: runVerify },
  capacity: {
    usage: `  parley personaplex capacity --onnx-dir <dir> --gpu-memory <GiB> [--context <frames>] [--reserve <GiB>]
      how many sessions of this mobius export fit on one GPU at full context (weights + KV + Mimi)`,
    run: runCapacity,
  },
  voices: {
    usage: `  parley personaplex voices --onnx-dir <dir> [--voices <dir>]
      convert every <ID>.pt voice to <ID>.voice.json ahead of time (the engine otherwise converts on first
      use, in a side thread)`,
    run: runVoices,
  },
};

export function personaplexUsage(): string {
  return `usage:\n${Object.values(SUBCOMMANDS)
    .map((s) => s.usage)
    .join('\n')}`;
}

export async function runPersonaplex(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  const sub = name ? SUBCOMMANDS[name] : undefined;
  if (!sub) {
    if (name === undefined || name === 'help' || name === '--help') {
      io.out(personaplexUsage());
      return name === undefined ? 2 : 0;
    }
    throw new UsageError(`unknown personaplex command "${name}" (${Object.keys(SUBCOMMANDS).join(', ')})`);
  }
  return sub.run(rest, io);
}

function positiveNumber(options: Record<string, string | true>, name: string, fallback?: number): number {
  const raw = options[name];
  if (raw === undefined) {
    if (fallback === undefined) throw new UsageError(`--${name} is required`);
    return fallback;
  }
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0) throw new UsageError(`--${name} must be a positive number, got "${String(raw)}"`);
  return v;
}

function onnxDir(options: Record<string, string | true>, io: Io): string {
  const dir = options['onnx-dir'] ?? io.env.PARLEY_PERSONAPLEX_ONNX_DIR;
  if (!dir || dir === true) throw new UsageError('--onnx-dir <mobius export folder> is required (or PARLEY_PERSONAPLEX_ONNX_DIR)');
  return path.resolve(io.cwd, dir);
}

async function runCapacity(argv: string[], io: Io): Promise<number> {
  const { options } = parseArgs(argv, ['onnx-dir', 'gpu-memory', 'context', 'reserve'], []);
  const dir = onnxDir(options, io);
  const plan = { gpuMemoryGiB: positiveNumber(options, 'gpu-memory'), contextFrames: positiveNumber(options, 'context', 3000), reserveGiB: Number(options.reserve ?? 4) };
  let facts;
  try {
    facts = await readExportFacts(dir);
  } catch (err) {
    io.err(`parley personaplex capacity: ${(err as Error).message}`);
    return 1;
  }
  for (const line of formatPlan(dir, facts, plan, planCapacity(facts, plan))) io.out(line);
  return 0;
}

async function runVoices(argv: string[], io: Io): Promise<number> {
  const { options } = parseArgs(argv, ['onnx-dir', 'voices'], []);
  const dir = onnxDir(options, io);
  const { convertVoiceFolder } = await import('../engines/personaplex-onnx/convert-voices.ts');
  const voicesDir = typeof options.voices === 'string' ? path.resolve(io.cwd, options.voices) : path.join(dir, 'voices');
  const failed = await convertVoiceFolder(dir, voicesDir, io.out, io.err);
  return failed ? 1 : 0;
}
