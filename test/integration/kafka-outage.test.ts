import { describe, expect, it } from 'vitest';
import { brokers, testKafka } from '../support/harness.js';
import { clickhouseOutage, runFault } from '../support/faults.js';

// The outage is on the ClickHouse side: the run's broker is enough, and this file runs beside
// the cluster faults instead of after them.
describe('ClickHouse refusing writes for 60 s while producers keep publishing', () => {
  it('reports not ready, stays within bounded memory, then catches up with nothing lost or repeated', async () => {
    const figures = await runFault(
      'ClickHouse refusing writes 60 s',
      testKafka(),
      brokers(),
      clickhouseOutage(60_000),
      { pauseMs: 1_000, chunk: 150 },
    );
    console.log(
      `[fault] ${figures.name}: recovered in ${figures.recoverMs} ms after ATTACH, peak lag ${figures.peakLag}, RSS ${figures.startRssMb} → peak ${figures.peakRssMb} MiB`,
    );
    // Consumption pauses while writes fail, so memory holds at most one batch being retried.
    expect(figures.peakRssMb - figures.startRssMb).toBeLessThan(512);
  }, 400_000);
});
