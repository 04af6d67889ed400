import { describe, expect, it } from 'vitest';
import { CALIFORNIA, playCaliforniaTraffic } from '../support/california.js';
import { dashboardTargets } from '../support/dashboards.js';
import { segmentLabel } from '../../src/drift/index.js';
import { expandMacros } from '../support/grafana-macros.js';
import { waitFor } from '../support/harness.js';
import { startTestService } from '../support/service.js';
import { DAY, SHOP_T0 } from '../support/segments-data.js';
import { SHOP, storeShopSegments } from '../support/shop-segments.js';

/**
 * Every ClickHouse query of every dashboard (panels and annotations, read from the checked-in
 * dashboards/*.json) on the engine seeded with the California traffic, variables and macros
 * expanded as the Grafana ClickHouse plugin does: each returns rows with the columns its panel
 * needs. A new ClickHouse query fails here until its columns are listed below. The shop's stored
 * segment windows (shop-segments.ts) feed the drift dashboard's segment panels.
 */
const EXPECTED: Record<string, string[]> = {
  'modelwatch-models / Predictions per hour by version': ['time', 'model_version', 'predictions'],
  'modelwatch-models / Error rate per hour by version': ['time', 'model_version', 'error_rate'],
  'modelwatch-models / annotation: Retrain triggers': ['time', 'timeEnd', 'text', 'tags'],
  'modelwatch-drift / annotation: Retrain triggers': ['time', 'timeEnd', 'text', 'tags'],
  'modelwatch-drift / Latest stored window by segment': [
    'model',
    'version',
    'window_start',
    'segment',
    'predictions',
    'drift_share',
    'dataset_drift',
    'drifted',
    'quality_flagged',
  ],
  'modelwatch-drift / Drift share by segment over stored windows': ['time', 'series', 'drift_share'],
  'modelwatch-governance / Audit records per hour by principal and action': ['time', 'series', 'records'],
  'modelwatch-governance / Principals and actions': [
    'principal',
    'action',
    'records',
    'denied',
    'failed',
    'last_seen',
  ],
  'modelwatch-governance / Denied access per hour by principal': ['time', 'principal', 'denied'],
  'modelwatch-governance / Latest denied records': [
    'at',
    'principal',
    'action',
    'resource_type',
    'resource_id',
    'model_id',
    'entity_id',
    'kind',
  ],
};

const isTime = (type: string) => /^(Nullable\()?DateTime/.test(type);
const isNumber = (type: string) => /^(Nullable\()?(U?Int|Float|Decimal)/.test(type);

describe('dashboards’ ClickHouse SQL on the seeded engine', () => {
  it('every query returns rows with its panel’s columns', { timeout: 180_000 }, async () => {
    const service = await startTestService();
    const traffic = await playCaliforniaTraffic(service);
    // The access-log events reach audit_events through the audit chain writers.
    await waitFor('the denied access records chained', async () => {
      const [row] = await service.rows<{ n: number }>(
        "SELECT count() AS n FROM audit_events FINAL WHERE kind = 'access' AND outcome = 'denied'",
      );
      return row?.n === 6 ? true : undefined;
    });
    const stored = await storeShopSegments(service);
    const ctx = {
      from: traffic.from,
      to: traffic.to + 3_600_000,
      // The models dashboard's model variable is single-valued (a string), its version multi-valued.
      variables: { model: CALIFORNIA, version: ['1', '2'] } as Record<string, string | string[]>,
    };
    // The drift dashboard's model variable is multi-valued (All by default).
    const ctxOf = (dashboard: string) =>
      dashboard === 'modelwatch-drift'
        ? { ...ctx, variables: { ...ctx.variables, model: [CALIFORNIA, SHOP] } }
        : ctx;
    const queries = dashboardTargets().filter((t) => t.datasource === 'clickhouse');
    expect(queries.map((t) => `${t.dashboard} / ${t.panel}`).sort()).toEqual(Object.keys(EXPECTED).sort());

    const results = new Map<string, unknown[][]>();
    for (const t of queries) {
      const name = `${t.dashboard} / ${t.panel}`;
      const result = await service.platform.db.client.query({
        query: expandMacros(t.rawSql!, ctxOf(t.dashboard)),
        format: 'JSONCompactEachRowWithNamesAndTypes',
      });
      const [names, types, ...rows] = await result.json<unknown[]>();
      expect(names, name).toEqual(EXPECTED[name]);
      expect(rows.length, `${name} returns rows`).toBeGreaterThan(0);
      const typed = (names as string[]).map((n, i) => [n, (types as string[])[i]!] as const);
      if (t.format === 0) {
        // Time series: a time column first, numbers to plot, the rest labels.
        expect(isTime(typed[0]![1]), `${name}: time is ${typed[0]![1]}`).toBe(true);
        expect(isNumber(typed.at(-1)![1]), `${name}: value is ${typed.at(-1)![1]}`).toBe(true);
      }
      if (t.panel.startsWith('annotation')) {
        expect(
          typed.map(([, type]) => type),
          name,
        ).toEqual([
          expect.stringMatching(/^DateTime64/),
          expect.stringMatching(/^DateTime64/),
          expect.stringMatching(/^(LowCardinality\()?String\)?$/),
          expect.stringMatching(/^Array\((LowCardinality\()?String\)?\)$/),
        ]);
      }
      results.set(name, rows);
    }

    // And the numbers are the traffic's: every stored prediction counted once, per version.
    const perVersion = new Map<string, number>();
    for (const [, version, n] of results.get('modelwatch-models / Predictions per hour by version')!)
      perVersion.set(version as string, (perVersion.get(version as string) ?? 0) + Number(n));
    expect(Object.fromEntries(perVersion)).toEqual({ '1': 8232, '2': 400 });
    expect(results.get('modelwatch-models / annotation: Retrain triggers')!.map((r) => r[3])).toEqual([
      ['drift'],
    ]);
    const denied = results.get('modelwatch-governance / Denied access per hour by principal')!;
    expect(denied.reduce((sum, r) => sum + Number(r[2]), 0)).toBe(6);
    const principals = results.get('modelwatch-governance / Principals and actions')!;
    expect(principals.map((r) => `${String(r[0])} ${String(r[1])}`)).toEqual(
      expect.arrayContaining(['analyst-0 read', 'analyst-0 export']),
    );

    // The segment panels show what the segment loop stored: day 1 (the latest) of both shop
    // segmentations; feature drift in north alone (x: one of its three features, under the 0.5
    // dataset-drift share), missing y in west alone. The drifted columns include prediction and
    // score: north's moved x moves them, and the app channel's predictions with it.
    const day1 = new Date(SHOP_T0 + DAY).toISOString();
    const storedDay1 = stored.filter((w) => w.start === day1);
    const latest = results.get('modelwatch-drift / Latest stored window by segment')!;
    const asRow = (w: (typeof stored)[number]) => [
      SHOP,
      '1',
      day1.replace('T', ' ').replace('Z', ''),
      segmentLabel(w.segmentation, w),
      w.predictions,
      w.drift.drift_share,
      w.drift.dataset_drift,
      w.drift.columns
        .filter((c) => c.drifted)
        .map((c) => c.column)
        .join(', '),
      w.quality.columns
        .filter((c) => c.flagged)
        .map((c) => c.column)
        .join(', '),
    ];
    const numeric = (rows: unknown[][]) => rows.map((r) => r.map((v, i) => (i === 4 ? Number(v) : v)));
    expect(numeric(latest)).toEqual(expect.arrayContaining(storedDay1.map(asRow)));
    expect(latest).toHaveLength(storedDay1.length);
    expect(latest.map((r) => r[3])).toEqual([
      'feature:region=north',
      'feature:region!none',
      'feature:region!other',
      'feature:region=east',
      'feature:region=south',
      'feature:region=west',
      'tag:channel=app',
      'tag:channel=web',
    ]);
    expect(latest.filter((r) => Number(r[5]) > 0).map((r) => [r[3], r[5], r[6]])).toEqual([
      ['feature:region=north', 1 / 2, true],
    ]);
    expect(latest.filter((r) => r[7] !== '').map((r) => [r[3], r[7]])).toEqual([
      ['feature:region=north', 'x, prediction, score'],
      ['tag:channel=app', 'prediction'],
    ]);
    expect(latest.filter((r) => r[8] !== '').map((r) => [r[3], r[8]])).toEqual([
      ['feature:region=west', 'y'],
    ]);
    const share = results.get('modelwatch-drift / Drift share by segment over stored windows')!;
    const north = share
      .filter((r) => r[1] === `${SHOP} feature:region=north version 1`)
      .map((r) => Number(r[2]));
    expect(north).toHaveLength(2);
    expect(north[0]).toBe(0);
    expect(north[1]).toBeGreaterThan(0);
    expect(share).toHaveLength(stored.length);
  });
});
