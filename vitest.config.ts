import { tmpdir } from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';
import LongestFirstSequencer from './test/support/longest-first-sequencer.js';
import { useTmpfsForTemporaryFiles } from './test/support/tmpfs-tmpdir.js';

// Test files' processes (and the CLI processes tests start) inherit this: Node then keeps the
// compiled code of vitest, the dependencies and dist/ on disk, as the CLI does for itself. Each
// file's fork starts ~0.4 CPU s sooner (8 files that only import the service: 13.3 → 10.2 CPU s).
// The directory is the CLI's (Node's default); NODE_DISABLE_COMPILE_CACHE=1 turns it off.
process.env['NODE_COMPILE_CACHE'] ??= path.join(tmpdir(), 'node-compile-cache');

// The tests' temporary files (embedded databases, the broker's log) on tmpfs where there is room:
// file creation on this machine's ext4 is slow (test/support/tmpfs-tmpdir.ts). After the compile
// cache, which should outlive the run. MODELWATCH_TEST_TMPFS=false or a TMPDIR keeps them on disk.
useTmpfsForTemporaryFiles();

/**
 * Unit test files that open the embedded engine. chdb holds one native engine per process and it
 * cannot be opened again once closed, so each of these runs in its own fork (the threads pool
 * segfaults when a second file opens the engine).
 */
const unitFilesWithEngine = [
  'test/unit/dashboards/clickhouse-sql.test.ts',
  'test/unit/drift/engine-cli.test.ts',
  'test/unit/drift/engine-native.test.ts',
  'test/unit/drift/native-stale-files.test.ts',
  'test/unit/drift/offline-files.test.ts',
  'test/unit/drift/offline-progress.test.ts',
  'test/unit/drift/sample-file.test.ts',
  'test/unit/platform/engine-pages.test.ts',
  'test/unit/triggers/dashboard-annotation.test.ts',
  'test/unit/triggers/trigger-store.test.ts',
];

/**
 * Unit test files that replace a module (`vi.mock`): the mock holds only in a module graph of the
 * file's own, and the `unit` project shares one between files (`isolate: false`), where another
 * file may have loaded the real module first (the lock take-over race then never played).
 */
const unitFilesWithModuleMocks = ['test/unit/platform/data-dir-lock-takeover.test.ts'];

/**
 * Integration files that run after all the others, alone: they read which of the engine library's
 * pages this process holds, and another file's engine maps the same library, so its pages turn
 * shared and the kernel keeps them (with three files at once: 0.6 MB of the library private where
 * the test needs 1 MB, a release that left 200 MB resident of 199 MB).
 */
const integrationFilesAlone = [
  'test/integration/engine-pages.test.ts',
  'test/integration/service-engine-pages.test.ts',
];

export default defineConfig({
  test: {
    pool: 'forks',
    reporters: ['default', './test/support/summary-reporter.ts'],
    sequence: { sequencer: LongestFirstSequencer },
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Three files at once on two cores: two left ~16% of the CPU idle (a whole run here: 631 s
    // against 557 s with three, the same ~1,057 CPU s). The projects share one queue, so they share
    // this number; the files that read the engine library's pages have a queue of their own below.
    maxWorkers: 3,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          exclude: [...unitFilesWithEngine, ...unitFilesWithModuleMocks],
          // The rest share a fork per worker: a fresh fork per file was half of this project's
          // time (~45 s of 90 s), spent loading vitest and the sources again.
          isolate: false,
        },
      },
      {
        extends: true,
        test: { name: 'unit-engine', include: unitFilesWithEngine },
      },
      {
        extends: true,
        test: { name: 'unit-mocks', include: unitFilesWithModuleMocks },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // Ten-minute faults: `npm run test:long` (vitest.long.config.ts).
          exclude: ['test/integration/**/*.long.test.ts', ...integrationFilesAlone],
          globalSetup: ['test/support/global-setup.ts'],
          setupFiles: ['test/support/kafkajs-setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration-alone',
          include: integrationFilesAlone,
          // One worker and the default isolation: Vitest runs this project after the others have
          // finished, one file at a time.
          maxWorkers: 1,
          globalSetup: ['test/support/global-setup.ts'],
          setupFiles: ['test/support/kafkajs-setup.ts'],
        },
      },
    ],
  },
});
