/**
 * Is the server there? An HTTP GET of its root: the official server serves its web UI there (or 404s with
 * `--static none`); any HTTP answer within the timeout means its event loop is alive.
 */
import http from 'node:http';
import https from 'node:https';

export function probe(base: URL, timeoutMs: number, insecureTls = false): Promise<{ ok: true } | { ok: false; reason: string }> {
  return new Promise((resolve) => {
    const lib = base.protocol === 'https:' ? https : http;
    let done = false;
    const finish = (r: { ok: true } | { ok: false; reason: string }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const req = lib.get(new URL('/', base), { rejectUnauthorized: !insecureTls, agent: false }, (res) => {
      res.resume();
      finish({ ok: true });
    });
    req.on('error', (err) => finish({ ok: false, reason: err.message }));
    const timer = setTimeout(() => finish({ ok: false, reason: `no HTTP answer within ${timeoutMs} ms` }), timeoutMs);
  });
}
