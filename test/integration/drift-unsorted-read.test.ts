/**
 * The drift route reads the columns measured by PSI and JS unsorted (the engine's sort is ~40 %
 * of a read) and the others sorted. Every window's results must be the ones the all-sorted read
 * gives, bit for bit, whatever the method mix, bucket or data (ties, ±0, a stored Infinity).
 */
import { describe, expect, it } from 'vitest';
import { drift } from '../../src/drift/index.js';
import { evaluateWindow, planColumns } from '../../src/drift/engine/evaluate.js';
import { driftSettings, type DriftPolicy } from '../../src/drift/engine/settings.js';
import type { DriftBucket } from '../../src/drift/engine/types.js';
import { readWindows } from '../../src/drift/store/windows.js';
import type { MethodOption } from '../../src/drift/statistics/index.js';
import { parseBucket } from '../../src/platform/time/index.js';
import { seedDriftWindows } from '../support/drift-windows-data.js';
import { startTestService } from '../support/service.js';

const T0 = Date.UTC(2026, 6, 1);
const HOUR = 3_600_000;
const key = { modelId: 'unsorted', version: '1' };

describe('PSI and JS columns read unsorted', () => {
  it('give every window the results of the all-sorted read, and the route uses them', async () => {
    const service = await startTestService();
    await seedDriftWindows(service, key, T0);
    const { service: driftService } = service.use(drift);
    await driftService.setReference(key, { from: T0, to: T0 + HOUR }, 'test');
    const reference = (await driftService.reference(key))!;
    const policies: DriftPolicy[] = [
      {},
      { columns: { x: { method: 'psi' }, score: { method: 'jensenshannon' } } },
    ];
    const methods: (MethodOption | undefined)[] = [undefined, 'psi', 'jensenshannon', 'ks', 'wasserstein'];
    let binnedUnsorted = 0;
    for (const policy of policies) {
      const settings = driftSettings(policy);
      for (const method of methods) {
        const plans = planColumns(reference, settings, method);
        const read = async (unsortedWhereBinned: boolean) => {
          const out: DriftBucket[] = [];
          for await (const sample of readWindows(service.platform.db, {
            key,
            from: T0,
            to: T0 + 2 * HOUR + 1,
            window: parseBucket('30m'),
            plans,
            unsortedWhereBinned,
          })) {
            for (const c of sample.columns.values()) if (c.values && !c.sorted) binnedUnsorted++;
            out.push(evaluateWindow(plans, sample, settings.datasetDriftShare));
          }
          return out;
        };
        const sortedOnly = await read(false);
        const mixed = await read(true);
        expect(sortedOnly.length).toBeGreaterThan(2);
        expect(JSON.stringify(mixed)).toBe(JSON.stringify(sortedOnly));
        if (policy === policies[0]) {
          // The route (which reads PSI/JS columns unsorted) answers the same buckets.
          const report = await driftService.report({
            modelId: key.modelId,
            version: key.version,
            from: T0,
            to: T0 + 2 * HOUR + 1,
            window: parseBucket('30m'),
            method,
          });
          expect(JSON.stringify(report.buckets)).toBe(JSON.stringify(sortedOnly));
        }
      }
    }
    // The unsorted path was taken (psi/js columns), not only the sorted one.
    expect(binnedUnsorted).toBeGreaterThan(10);
  });
});
