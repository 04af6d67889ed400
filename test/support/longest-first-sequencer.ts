import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { longestFirst } from './longest-first.js';

/**
 * The longest integration files, with their seconds in a fresh-clone `.ci/run` (2026-12-07, three
 * files at once). Vitest starts the files whose last duration it knows longest first, and the rest
 * by size, larger first; a fresh clone knows no durations, and `kafka-outage` (a small file that
 * waits out an outage) started last there and ran 82 s after the others had finished. Files in
 * this table start first; once Vitest's own cache holds a file's duration, that is used instead.
 */
const SECONDS: Readonly<Record<string, number>> = {
  'test/integration/up-story.test.ts': 89,
  'test/integration/kafka-outage.test.ts': 82,
  'test/integration/cli.test.ts': 67,
  'test/integration/api-routes.test.ts': 50,
  'test/integration/api-keys.test.ts': 40,
  'test/integration/metrics-rollup.test.ts': 35,
  'test/integration/prometheus.test.ts': 35,
  'test/integration/shadow-feed.test.ts': 31,
  'test/integration/triggers-crash.test.ts': 29,
  'test/integration/segments.test.ts': 27,
  'test/integration/segments-stored.test.ts': 26,
  'test/integration/bench-producer.test.ts': 25,
};

export default class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return longestFirst(await super.sort(files), (spec) =>
      this.ctx.cache.getTestSpecificationResult(spec)
        ? undefined
        : SECONDS[path.relative(this.ctx.config.root, spec.moduleId).split(path.sep).join('/')],
    );
  }
}
