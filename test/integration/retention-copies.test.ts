import { describe, expect, it } from 'vitest';
import { audit } from '../../src/audit/index.js';
import { computeModelMetrics } from '../../src/metrics/index.js';
import { label, prediction } from '../support/events.js';
import { produce, waitFor } from '../support/harness.js';
import { startTestService, type TestService } from '../support/service.js';

const DAY = 86_400_000;
const VERSIONS = [{ model_version: '3', task: 'binary_classification' as const, positive_class: '1' }];

async function n(service: TestService, query: string): Promise<number> {
  const [row] = await service.rows<{ n: string }>(query);
  return Number(row?.n);
}

/**
 * Retention (SPEC 8) deletes the metrics' copies of old predictions and labels with them: the
 * copies hold prediction ids, outputs and labels, and a deleted label must stop counting.
 */
describe('retention of the metrics copies', () => {
  it('deletes the copies of deleted rows, re-joins the labels that stay, and rollup equals raw after', async () => {
    const service = await startTestService({
      MODELWATCH_RETENTION_PREDICTIONS: '30d',
      MODELWATCH_RETENTION_LABELS: '30d',
      MODELWATCH_AUDIT_BATCH_MAX_MS: '100',
    });
    const retention = service.use(audit).retention;
    // The service's own run at start ends before the data arrives (it waits behind that run).
    await retention.runOnce();
    const now = Date.now();
    const old = now - 60 * DAY;
    const recent = now - 2 * DAY;
    const preds = [
      ...Array.from({ length: 10 }, (_, i) => prediction(i, { timestamp: old + i })),
      ...Array.from({ length: 10 }, (_, i) => prediction(100 + i, { timestamp: recent + i })),
    ];
    await produce(service.config.topics.predictions, preds);
    const labels = [
      ...preds.map((p) =>
        label(0, { prediction_id: p['prediction_id'], timestamp: p['timestamp'], label: 1 }),
      ),
      // p-100 (recent) also has an old label naming the model: it outranks the unnamed one until
      // retention deletes it, then the unnamed label (1 above) is the one that counts.
      label(0, { prediction_id: 'p-100', model_id: 'credit-risk', timestamp: old, label: 0 }),
    ];
    await produce(service.config.topics.labels, labels);
    const copies = async () => ({
      predictions: await n(service, 'SELECT count() AS n FROM prediction_lookup FINAL'),
      labels: await n(service, 'SELECT count() AS n FROM label_lookup FINAL'),
      labeled: await n(service, 'SELECT count() AS n FROM labeled_predictions FINAL'),
    });
    const p100 = async () =>
      (
        await service.rows<{ label: string }>(
          "SELECT label FROM labeled_predictions FINAL WHERE prediction_id = 'p-100'",
        )
      ).map((r) => r.label);
    const metrics = (path: 'raw' | 'rollup') =>
      computeModelMetrics(service.platform.db, {
        model: 'credit-risk',
        versions: VERSIONS,
        bucket: '1d',
        from: Math.floor(old / DAY) * DAY,
        to: (Math.floor(now / DAY) + 1) * DAY,
        path,
      });

    await waitFor('everything stored and joined', async () =>
      (await n(service, 'SELECT count() AS n FROM labels FINAL')) === 21 && (await copies()).labeled === 20
        ? true
        : undefined,
    );
    expect(await copies()).toEqual({ predictions: 20, labels: 21, labeled: 20 });
    expect(await p100()).toEqual(['0']);

    const report = await retention.runOnce();
    expect(report).toMatchObject({ predictions: 10, labels: 11 });
    expect(await copies()).toEqual({ predictions: 10, labels: 10, labeled: 10 });
    expect(
      await n(
        service,
        `SELECT count() AS n FROM labeled_predictions FINAL WHERE timestamp < now() - INTERVAL 30 DAY`,
      ),
    ).toBe(0);
    expect(await p100()).toEqual(['1']);
    const [raw, rollup] = [await metrics('raw'), await metrics('rollup')];
    expect(rollup.buckets).toEqual(raw.buckets);
    expect(raw.buckets.reduce((sum, b) => sum + (b.labeled ?? 0), 0)).toBe(10);

    // Each deletion's audit record names the copies that went with it.
    const records = await waitFor('the deletions audited', async () => {
      const rows = await service.rows<{ resource_type: string; record: string }>(
        "SELECT resource_type, record FROM audit_events WHERE action = 'retention.delete' ORDER BY resource_type",
      );
      return rows.length >= 2 ? rows : undefined;
    });
    expect(
      records.map((r) => [
        r.resource_type,
        (JSON.parse(r.record) as { details: { copies: string[] } }).details.copies,
      ]),
    ).toEqual([
      ['labels', ['label_lookup', 'labeled_predictions']],
      ['predictions', ['prediction_lookup', 'labeled_predictions']],
    ]);
  }, 180_000);
});
