import { defineConfig } from 'vitest/config';

// The long fault tests (`npm run test:long`): the three-broker faults and ten-minute outages,
// kept out of `npm test`. One file at a time: each reports recovery times and peak RSS, which
// another file's broker cluster or catch-up on the same two cores would inflate.
export default defineConfig({
  test: {
    pool: 'forks',
    fileParallelism: false,
    reporters: ['default'],
    testTimeout: 1_500_000,
    hookTimeout: 300_000,
    include: ['test/integration/**/*.long.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/kafkajs-setup.ts'],
  },
});
