import { defineConfig } from 'vitest/config';

// chdb holds one native engine per process, so every test file runs in its own fork
// (the threads pool segfaults when a second file opens the engine).
export default defineConfig({
  test: {
    pool: 'forks',
    reporters: ['default', './test/support/summary-reporter.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // Ten-minute faults: `npm run test:long` (vitest.long.config.ts).
          exclude: ['test/integration/**/*.long.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          setupFiles: ['test/support/kafkajs-setup.ts'],
          maxWorkers: 2,
        },
      },
    ],
  },
});
