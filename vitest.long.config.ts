import { defineConfig } from 'vitest/config';

// The long tests (`npm run test:long`), kept out of `npm test`: the three-broker faults and
// ten-minute outages, and the audit store at 1,000,000 records (MODELWATCH_AUDIT_1M=1 below:
// audit-1m skips itself without it and audit-export-rss exports 100,000 rows; ~1.5 min for both
// here). One file at a time: each reports recovery times and peak RSS, which another file's
// broker cluster or catch-up on the same two cores would inflate.
export default defineConfig({
  test: {
    pool: 'forks',
    fileParallelism: false,
    reporters: ['default'],
    testTimeout: 1_500_000,
    hookTimeout: 300_000,
    include: [
      'test/integration/**/*.long.test.ts',
      'test/integration/audit-1m.test.ts',
      'test/integration/audit-export-rss.test.ts',
    ],
    env: { MODELWATCH_AUDIT_1M: '1' },
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/kafkajs-setup.ts'],
  },
});
