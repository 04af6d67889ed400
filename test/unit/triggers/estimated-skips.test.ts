import { describe, expect, it } from 'vitest';
import { EstimationError } from '../../../src/performance-estimation/index.js';
import { parseBucket } from '../../../src/platform/time/index.js';
import {
  estimatedWindowMetrics,
  type EstimateSource,
} from '../../../src/triggers/service/performance-source.js';

describe('the estimated retrain rule', () => {
  it('names a version it skips because its calibrator could not be fitted, not one without a range reference', async () => {
    const source = {
      calibrators: {
        get: (v: { model_version: string }) =>
          Promise.reject(
            v.model_version === '1'
              ? new EstimationError('CALIBRATION_FAILED', 'fit failed: out of memory')
              : new EstimationError('NO_REFERENCE', 'no reference from a range'),
          ),
      },
      estimateRows: () => Promise.resolve([]),
    } as unknown as EstimateSource;
    const skipped: [string, string][] = [];
    const versions = ['1', '2'].map((model_version) => ({
      model_id: 'm',
      model_version,
      task: 'binary_classification' as const,
      positive_class: '1',
    }));
    const windows = await estimatedWindowMetrics(
      source,
      versions,
      parseBucket('1h')!,
      Date.UTC(2026, 11, 6),
      4,
      (version, reason) => skipped.push([version, reason]),
    );
    expect(windows).toEqual([]);
    expect(skipped).toEqual([['1', 'fit failed: out of memory']]);
  });
});
