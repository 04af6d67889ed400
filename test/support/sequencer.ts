import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The files that take longest (over a minute each on the 2-core CI machine), started first. On a
 * fresh clone vitest has no timings and orders files by size, which put the 80 s outage test last:
 * one worker ran it alone while the other sat idle for ~30–40 s of the suite's wall time.
 */
const LONGEST = ['test/integration/kafka-outage.test.ts', 'test/integration/up-story.test.ts'];

export default class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (spec: TestSpecification) => {
      const i = LONGEST.findIndex((path) => spec.moduleId.endsWith(path));
      return i === -1 ? LONGEST.length : i;
    };
    // A stable sort: the rest keep the order vitest chose.
    return sorted
      .map((spec, i) => ({ spec, i }))
      .sort((a, b) => rank(a.spec) - rank(b.spec) || a.i - b.i)
      .map((x) => x.spec);
  }
}
