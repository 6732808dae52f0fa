/**
 * One logger for the whole server: pino, levelled and structured. JSON lines in production (or when stdout is
 * not a terminal), readable lines in a terminal. Modules take a `Logger` and make children for what they own
 * (`log.child({ room })`, `log.child({ npc })`, `log.child({ engine })`) instead of prefixing strings.
 */
import { pino, type Logger as PinoLogger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';

export type Logger = PinoLogger;

export interface LoggerOptions {
  /** default: PARLEY_LOG_LEVEL, else 'info' */
  level?: LevelWithSilent;
  /** JSON lines instead of readable ones; default: NODE_ENV=production or stdout not a terminal */
  json?: boolean;
  /** where lines go; default stdout */
  destination?: NodeJS.WritableStream;
}

const LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function logLevelFrom(value: string | undefined): LevelWithSilent {
  if (value === undefined || value === '') return 'info';
  if ((LEVELS as readonly string[]).includes(value)) return value as LevelWithSilent;
  throw new Error(`PARLEY_LOG_LEVEL must be one of ${LEVELS.join(', ')} (got '${value}')`);
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? logLevelFrom(process.env.PARLEY_LOG_LEVEL);
  const json = options.json ?? (process.env.NODE_ENV === 'production' || !process.stdout.isTTY);
  const destination = options.destination ?? process.stdout;
  if (json) return pino({ level, base: { pid: process.pid } }, destination);
  // synchronous pretty stream: no transport worker thread, lines appear in order with the process's own output
  const stream = pretty({ sync: true, colorize: true, destination, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l', singleLine: true });
  return pino({ level }, stream);
}

/** A logger that writes nothing: the default for library code and tests that do not look at logs. */
export const silentLogger: Logger = pino({ level: 'silent' });
