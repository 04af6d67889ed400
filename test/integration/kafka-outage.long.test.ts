import { describe, expect, it } from 'vitest';
import { BENCH_RATE, outageAtRate } from '../support/outage-at-rate.js';

// As kafka-outage.test.ts, for 10 minutes: about 3 million predictions and as many labels wait
// in the topics. Not in the default suite: vitest.long.config.ts.
describe('ClickHouse refusing writes for 10 minutes (npm run test:long) while producers keep publishing at the benchmark rate', () => {
  it('reports not ready, stays within bounded memory, then catches up with nothing lost or repeated', async () => {
    const f = await outageAtRate('ClickHouse refusing writes 10 min', 600_000, BENCH_RATE);
    console.log(
      `[fault] ${f.name}: ${f.outageRate} predictions/s (+ as many labels) during the outage, backlog ${f.lagAtAttach} at ATTACH, caught up in ${f.catchUpMs} ms (${f.catchUpRate} messages/s), RSS ${f.startRssMb} → ${f.ingestingRssMb} (ingesting) → ${f.outagePeakRssMb} (outage) → ${f.peakRssMb} MiB (catch-up), high-water mark ${f.hwmRssMb} MiB`,
    );
    expect(f.outageRate).toBeGreaterThan(BENCH_RATE * 0.9);
    // Consumption pauses while writes fail, so memory holds at most the batches being retried.
    expect(f.outagePeakRssMb - f.ingestingRssMb, 'RSS growth during the outage (MiB)').toBeLessThan(512);
    // Catching up runs at full speed, and the peak is the engine's merges (src/collectors/README.md,
    // "Where the memory is"). They grow with the backlog's parts, far below its size: ~0.45 GiB over
    // the RSS while ingesting after the 60 s outage (0.6 million messages), 0.8–1.03 GiB after this
    // one's 6 million (6 GB of events), peaks of 1.23–1.38 GiB in every run since 2026-12-03. On
    // 2026-12-06 two runs caught up faster (66–67 s, ~90,000 messages/s, against ~100 s before) and
    // grew by 1,286 and 1,298 MiB (peaks 1.62–1.67 GiB). Not the code: the commit before those runs'
    // changes (7ba30ea), run back to back with 2cd7e72 the same evening, caught up in 67.1 s and
    // grew 1,388 MiB, against 68.7 s and 1,291. The bound catches a step towards memory that
    // follows the backlog, not that spread.
    expect(f.peakRssMb - f.ingestingRssMb, 'RSS growth while catching up (MiB)').toBeLessThan(1_536);
  }, 4_200_000);
});
