import { defineConfig } from 'vitest/config';

// Two cores: run test files in at most two forks so integration tests keep real-time ticks.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
