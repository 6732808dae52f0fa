/**
 * A logger that keeps what it is given, for tests that check what was logged. Each record becomes one line:
 * its fields as `key=value` (bindings first, e.g. `engine=rehearsal worker=1`), `err` as its message, then the
 * message. Debug and up.
 */
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../server/log.ts';

export function recordingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        const { level: _l, time: _t, pid: _p, hostname: _h, msg, err, ...fields } = JSON.parse(line) as Record<string, unknown>;
        const errText = err && typeof err === 'object' ? (err as { message?: string }).message : err;
        const kv = Object.entries({ ...fields, ...(errText !== undefined ? { err: errText } : {}) }).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
        lines.push([...kv, msg ?? ''].join(' '));
      }
      done();
    },
  });
  return { log: createLogger({ json: true, level: 'debug', destination: sink }), lines };
}
