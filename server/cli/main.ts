/**
 * The `parley` command. Subcommands live in their own modules; this file only dispatches and turns usage
 * mistakes into a message and exit code 2 instead of a stack trace.
 */
import { runSheets, SHEETS_USAGE, type Io } from './sheets.ts';
import { UsageError } from './args.ts';
import { personaplexUsage, runPersonaplex } from './personaplex.ts';

const USAGE = `parley: full-duplex voice NPCs for Babylon.js games

${SHEETS_USAGE}

${personaplexUsage()}`;

/** Runs the CLI; resolves with the exit code (0 ok, 1 problems found, 2 usage or setup error). */
export async function run(argv: string[], io: Partial<Io> = {}): Promise<number> {
  const full: Io = {
    out: io.out ?? ((l) => process.stdout.write(`${l}\n`)),
    err: io.err ?? ((l) => process.stderr.write(`${l}\n`)),
    env: io.env ?? process.env,
    cwd: io.cwd ?? process.cwd(),
  };
  const [group, ...rest] = argv;
  try {
    if (group === 'sheets') return await runSheets(rest, full);
    if (group === 'personaplex') return await runPersonaplex(rest, full);
    if (group === undefined || group === 'help' || group === '--help' || group === '-h') {
      full.out(USAGE);
      return group === undefined ? 2 : 0;
    }
    throw new UsageError(`unknown command "${group}"`);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    full.err(`parley: ${err.message}`);
    full.err('run "parley help" for usage');
    return 2;
  }
}
