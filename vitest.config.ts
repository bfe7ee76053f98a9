import { defineConfig } from 'vitest/config';

// Two projects: `default` is what `npm test` runs (unit, simulator, integration on 127.0.0.1);
// `chaos` needs Docker and runs with `npm run test:chaos`.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'default',
          include: ['test/unit/**/*.test.ts', 'test/sim/**/*.test.ts', 'test/integration/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          pool: 'forks',
        },
      },
      {
        test: {
          name: 'chaos',
          include: ['test/chaos/**/*.test.ts'],
          testTimeout: 600_000,
          hookTimeout: 600_000,
          pool: 'forks',
          fileParallelism: false,
        },
      },
    ],
  },
});
