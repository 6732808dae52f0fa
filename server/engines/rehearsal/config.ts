/**
 * The rehearsal engine's configuration, validated once on the main thread:
 *   PARLEY_REHEARSAL_WORKERS   engine worker threads (default and maximum: the number of cores)
 */
import os from 'node:os';
import { intFromEnv } from '../../env-rules.ts';

export interface RehearsalConfig {
  workers: number;
}

export function rehearsalWorkerCount(requested?: number): number {
  const cores = Math.max(1, os.availableParallelism());
  if (requested === undefined) return cores;
  if (!Number.isInteger(requested) || requested < 1) throw new Error(`rehearsal workers must be a positive integer, got ${requested}`);
  return Math.min(requested, cores);
}

export function configFromEnv(env: NodeJS.ProcessEnv): RehearsalConfig {
  return { workers: rehearsalWorkerCount(intFromEnv(env, 'PARLEY_REHEARSAL_WORKERS', undefined, 1, 1024)) };
}
