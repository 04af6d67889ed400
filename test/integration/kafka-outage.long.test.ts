import { describe, expect, it } from 'vitest';
import { brokers, testKafka } from '../support/harness.js';
import { clickhouseOutage, runFault } from '../support/faults.js';

// The outage is on the ClickHouse side: the run's broker is enough, and this file runs beside
// the cluster faults instead of after them. Not in the default suite: vitest.long.config.ts.
describe('ClickHouse refusing writes for 10 minutes (npm run test:long) while producers keep publishing', () => {
  it('reports not ready, stays within bounded memory, then catches up with nothing lost or repeated', async () => {
    const figures = await runFault(
      'ClickHouse refusing writes 10 min',
      testKafka(),
      brokers(),
      clickhouseOutage(600_000),
      { pauseMs: 3_600 },
    );
    console.log(
      `[fault] ${figures.name}: recovered in ${figures.recoverMs} ms after ATTACH, peak lag ${figures.peakLag}, RSS ${figures.startRssMb} → peak ${figures.peakRssMb} MiB`,
    );
    // Consumption pauses while writes fail, so memory holds at most one batch being retried.
    expect(figures.peakRssMb - figures.startRssMb).toBeLessThan(512);
  }, 1_200_000);
});
