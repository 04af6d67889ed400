import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { driftReportRoute } from '../../../src/drift/api/report-route.js';
import type { ReportWithDistributions } from '../../../src/drift/service/report-distributions.js';

const report: ReportWithDistributions = {
  model_id: 'm',
  version: '1',
  reference: { revision: 7, source: 'range', set_at: '2026-12-01T00:00:00.000Z', rows: 100 },
  buckets: [
    {
      start: '2026-12-01T00:00:00.000Z',
      end: '2026-12-02T00:00:00.000Z',
      count: 10,
      drift_share: 0,
      dataset_drift: false,
      columns: [],
    },
  ],
  distributions: [],
  datasetDriftShare: 0.5,
};

describe('the HTML drift report route', () => {
  it('goes out without the estimated-performance or data-quality section when that section fails', async () => {
    const app = Fastify();
    await app.register(
      driftReportRoute({
        report: () => Promise.resolve(report),
        performance: () => Promise.reject(new Error('Timeout exceeded: elapsed 30001 ms')),
        quality: () => Promise.reject(new Error('Timeout exceeded: elapsed 30001 ms')),
        now: () => Date.parse('2026-12-03T00:00:00Z'),
      }),
    );
    const response = await app.inject({
      url: '/models/m/drift/report?from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z&bucket=1d',
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/html');
    expect(response.body).toContain('Drift report: m version 1');
    await app.close();
  });
});
