/**
 * What an operator configures (docs/security.md), from the environment; every default is safe on a developer's
 * machine (loopback, the dev verifier, loopback-only /metrics, the server's own origin).
 *   PARLEY_JOIN_SECRET       HMAC secret: joins need a token signed by the game's backend (server/room/join-guard.ts)
 *   PARLEY_ALLOWED_ORIGINS   comma-separated browser origins besides the server's own
 *   PARLEY_METRICS_TOKEN     bearer token for /metrics (without it, loopback clients only)
 *   PARLEY_TRUST_PROXY=1     take the client address from X-Forwarded-For / X-Real-IP (behind a reverse proxy only)
 *   PARLEY_MAX_BODY_BYTES    largest HTTP request body (default 16384)
 */
import type { ParleyServerOptions } from '../app.ts';
import { hmacVerifier } from '../room/join-guard.ts';

export function securityFromEnv(env: NodeJS.ProcessEnv = process.env): Pick<ParleyServerOptions, 'verifier' | 'http' | 'joinLimits'> {
  const secret = env.PARLEY_JOIN_SECRET?.trim();
  if (secret !== undefined && secret !== '' && secret.length < 16) throw new Error('PARLEY_JOIN_SECRET must be at least 16 characters');
  const maxBody = env.PARLEY_MAX_BODY_BYTES ? Number(env.PARLEY_MAX_BODY_BYTES) : undefined;
  if (maxBody !== undefined && !(Number.isInteger(maxBody) && maxBody >= 1024 && maxBody <= 1 << 20)) throw new Error('PARLEY_MAX_BODY_BYTES must be an integer from 1024 to 1048576');
  return {
    ...(secret ? { verifier: hmacVerifier(secret) } : {}),
    http: {
      allowedOrigins: (env.PARLEY_ALLOWED_ORIGINS ?? '').split(',').map((s) => s.trim()).filter(Boolean),
      metricsToken: env.PARLEY_METRICS_TOKEN || undefined,
      trustProxy: env.PARLEY_TRUST_PROXY === '1',
      maxBodyBytes: maxBody,
    },
  };
}
