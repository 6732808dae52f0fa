/** Cluster configuration from the environment, and where the seat board places a new room. */
import { describe, expect, it } from 'vitest';
import { clusterFromEnv, ConfigError, loadConfig } from '../../server/config.ts';
import { chooseProcess, type BoardEntry } from '../../server/cluster/seat-board.ts';

describe('REDIS_URL and PARLEY_PUBLIC_ADDRESS', () => {
  it('one process without REDIS_URL: nothing of the cluster is configured', () => {
    expect(clusterFromEnv({})).toBeUndefined();
    expect(loadConfig({}).cluster).toBeUndefined();
    expect(loadConfig({}).drainMs).toBe(10_000);
  });

  it('cluster mode with a redis URL and a public address', () => {
    expect(clusterFromEnv({ REDIS_URL: 'redis://10.0.0.5:6379', PARLEY_PUBLIC_ADDRESS: 'gs-a.example.com:2567' })).toEqual({
      redisUrl: 'redis://10.0.0.5:6379',
      publicAddress: 'gs-a.example.com:2567',
    });
  });

  it('refuses a bad URL, a scheme in the public address, and a public address without Redis', () => {
    expect(() => clusterFromEnv({ REDIS_URL: 'localhost:6379' })).toThrow(ConfigError);
    expect(() => clusterFromEnv({ REDIS_URL: 'http://localhost:6379' })).toThrow(/redis:\/\//);
    expect(() => clusterFromEnv({ REDIS_URL: 'redis://r:6379', PARLEY_PUBLIC_ADDRESS: 'wss://gs-a' })).toThrow(/no scheme/);
    expect(() => clusterFromEnv({ PARLEY_PUBLIC_ADDRESS: 'gs-a' })).toThrow(/without REDIS_URL/);
    expect(() => loadConfig({ PARLEY_DRAIN_MS: '-1' })).toThrow(/PARLEY_DRAIN_MS/);
  });
});

describe('room placement by free seats', () => {
  const at = Date.now();
  const board = (entries: Record<string, Partial<BoardEntry>>) =>
    new Map(Object.entries(entries).map(([id, e]) => [id, { free: 0, draining: false, at, ...e }]));

  it('most free seats first, then fewest rooms', () => {
    const procs = [{ processId: 'a', roomCount: 0 }, { processId: 'b', roomCount: 5 }, { processId: 'c', roomCount: 1 }];
    expect(chooseProcess(procs, board({ a: { free: 1 }, b: { free: 3 }, c: { free: 2 } }), 'a')).toBe('b');
    expect(chooseProcess(procs, board({ a: { free: 2 }, b: { free: 2 }, c: { free: 2 } }), 'b')).toBe('a');
  });

  it('never a draining process or one missing from the board (dead, or not yet published)', () => {
    const procs = [{ processId: 'a', roomCount: 0 }, { processId: 'b', roomCount: 9 }];
    expect(chooseProcess(procs, board({ a: { free: 9, draining: true }, b: { free: 0 } }), 'a')).toBe('b');
    expect(chooseProcess(procs, board({ b: { free: 1 } }), 'a')).toBe('b');
    // nobody on the board at all: this process, unless it is the one draining
    expect(chooseProcess(procs, new Map(), 'a')).toBe('a');
    expect(chooseProcess(procs, board({ a: { draining: true } }), 'a')).toBe('b');
  });
});
