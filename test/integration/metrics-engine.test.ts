import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeModelMetrics, type MetricsBucket } from '../../src/metrics/index.js';
import { metricsQuery } from '../../src/metrics/metrics-sql.js';
import { parseBucket } from '../../src/platform/time/index.js';
import { allMigrations } from '../support/migrations.js';
import { migrate, openDatabase, type Database } from '../../src/platform/clickhouse/index.js';
import {
  numberOf,
  referenceMetrics,
  type RefBucket,
  type RefLabel,
  type RefPrediction,
  type RefTask,
  type Value,
} from '../unit/metrics/reference.js';

/**
 * The metrics SQL against the reference implementation on generated data, rows written straight
 * to the engine (no Kafka): every task, every bucket size, redelivered rows in separate parts,
 * corrected labels, orphan labels, another model's rows, and events before 1970.
 */

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MODEL = 'gen-model';
const VERSIONS: Record<string, { task: RefTask; positive: string }> = {
  b1: { task: 'binary_classification', positive: '1' },
  b2: { task: 'binary_classification', positive: 'yes' },
  mc: { task: 'multiclass_classification', positive: '1' },
  rg: { task: 'regression', positive: '1' },
};

// Independent of src/platform/time: calendar arithmetic with Date, not modular grids.
type Bucket = '5m' | '1h' | '1d' | '1w' | 'month';
const DAY = 86_400_000;
function bucketOf(bucket: Bucket): (time: number) => number {
  return (time) => {
    const d = new Date(time);
    const midnight = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
    switch (bucket) {
      case '5m':
        return midnight + Math.floor((time - midnight) / 300_000) * 300_000;
      case '1h':
        return midnight + d.getUTCHours() * 3_600_000;
      case '1d':
        return midnight;
      case '1w':
        return midnight - ((d.getUTCDay() + 6) % 7) * DAY;
      case 'month':
        return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    }
  };
}

interface Generated {
  predictions: RefPrediction[];
  labels: RefLabel[];
}

function generate(): Generated {
  const random = mulberry32(20261125);
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)] as T;
  const predictions: RefPrediction[] = [];
  const labels: RefLabel[] = [];
  const start = Date.UTC(2026, 1, 20);
  const span = 18 * DAY; // crosses a month end and several ISO weeks
  for (let i = 0; i < 2400; i++) {
    const version = pick(Object.keys(VERSIONS));
    // A few events just before 1970, where bucket arithmetic on negative epochs must still floor.
    const time =
      i % 200 === 0
        ? Date.UTC(1969, 11, 31, 23) + Math.floor(random() * 7_200_000)
        : start + Math.floor(random() * span);
    const id = `g-${i}`;
    let prediction: Value;
    let label: Value;
    let score: number | null = null;
    switch (VERSIONS[version]?.task) {
      case 'binary_classification': {
        // Scores on a coarse grid, so ties are common.
        score = random() < 0.05 ? null : Math.round(random() * 20) / 20;
        const yes = random() < (score ?? 0.5);
        if (version === 'b2') {
          prediction = (score ?? 0.5) >= 0.5 ? 'yes' : 'no';
          label = yes ? 'yes' : 'no';
        } else {
          prediction = random() < 0.3 ? (score ?? 0.5) >= 0.5 : (score ?? 0.5) >= 0.5 ? 1 : 0;
          label = random() < 0.3 ? yes : yes ? 1 : 0;
        }
        break;
      }
      case 'multiclass_classification':
        prediction = pick(['a', 'b', 'c', 'd']);
        label = random() < 0.5 ? prediction : pick(['a', 'b', 'c', 'e']);
        break;
      case 'regression':
      case undefined: {
        const value = Math.round(random() * 1000) / 10;
        prediction = value;
        label =
          random() < 0.1 ? 0 : random() < 0.05 ? 'n/a' : value + Math.round((random() - 0.5) * 200) / 10;
      }
    }
    predictions.push({
      id,
      version,
      time,
      prediction,
      score,
      latency: random() < 0.05 ? null : Math.round(random() * 5000) / 10,
      error: random() < 0.03,
    });
    const r = random();
    if (r < 0.6) labels.push({ id, label, time: time + 1000 });
    if (r < 0.05)
      labels.push({
        id,
        label: pick(version === 'b2' ? ['yes', 'no'] : ['1', '0', 'a', '7']),
        time: time + 5000,
      }); // a correction: the later label wins
  }
  return { predictions, labels };
}

function predictionLine(p: RefPrediction, model = MODEL): string {
  return JSON.stringify({
    model_id: model,
    model_version: p.version,
    prediction_id: p.id,
    timestamp: new Date(p.time).toISOString(),
    prediction: String(p.prediction),
    prediction_num: numberOf(p.prediction),
    score: p.score ?? null,
    latency_ms: p.latency ?? null,
    is_error: p.error === true,
  });
}

function labelLine(l: RefLabel): string {
  return JSON.stringify({
    prediction_id: l.id,
    label: String(l.label),
    label_num: numberOf(l.label),
    timestamp: new Date(l.time).toISOString(),
  });
}

function expectMatches(actual: MetricsBucket[], expected: RefBucket[], bucket: Bucket): void {
  expect(actual.map((b) => `${b.version}@${b.start}`)).toEqual(
    expected.map((b) => `${b.version}@${new Date(b.start).toISOString()}`),
  );
  const close = (a: number | null, e: number | null, what: string) => {
    if (e === null || a === null) expect(a, what).toBe(e);
    else
      expect(Math.abs(a - e), `${what}: ${a} vs ${e}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(e)));
  };
  actual.forEach((a, i) => {
    const e = expected[i] as RefBucket;
    const where = `${bucket} ${a.version} ${a.start}`;
    expect(a.task, where).toBe(VERSIONS[a.version]?.task);
    expect(Date.parse(a.end), where).toBe(bucketOf(bucket)(Date.parse(a.end)));
    expect([a.count, a.labeled], where).toEqual([e.count, e.labeled]);
    for (const field of [
      'error_rate',
      'label_coverage',
      'accuracy',
      'precision',
      'recall',
      'f1',
      'roc_auc',
      'positive_rate',
      'macro_f1',
      'mae',
      'rmse',
      'mape',
      'r2',
    ] as const) {
      close(a[field], e[field], `${where} ${field}`);
    }
    for (const q of ['p50', 'p95', 'p99', 'max'] as const)
      close(a.latency_ms[q], e.latency_ms[q], `${where} latency ${q}`);
  });
}

describe('metrics SQL against the reference implementation (embedded engine)', () => {
  let db: Database;
  let dataDir: string;
  const data = generate();

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'modelwatch-metrics-engine-'));
    db = await openDatabase({ url: undefined, cluster: undefined, database: 'metrics_engine', dataDir });
    await migrate(db, allMigrations);
    const insert = (table: string, lines: string[]) =>
      db.insertJsonEachRow(table, Buffer.from(lines.join('\n')));
    await insert(
      'predictions',
      data.predictions.map((p) => predictionLine(p)),
    );
    // Redelivered rows land in separate parts: only FINAL keeps them from counting twice.
    await insert(
      'predictions',
      data.predictions.filter((_, i) => i % 7 === 0).map((p) => predictionLine(p)),
    );
    await insert(
      'predictions',
      data.predictions
        .filter((_, i) => i % 5 === 0)
        .map((p) => predictionLine({ ...p, id: `other-${p.id}` }, 'other-model')),
    );
    await insert('labels', data.labels.map(labelLine));
    await insert('labels', data.labels.filter((_, i) => i % 3 === 0).map(labelLine));
    await insert('labels', [labelLine({ id: 'no-such-prediction', label: 1, time: 0 })]);
    await db.client.insert({
      table: 'model_versions',
      format: 'JSONEachRow',
      values: Object.entries(VERSIONS).map(([version, v]) => ({
        model_id: MODEL,
        model_version: version,
        task: v.task,
        task_source: 'declared',
        positive_class: v.positive,
        first_seen: 0,
        revision: 1,
      })),
    });
  });

  afterAll(async () => {
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it.each(['5m', '1h', '1d', '1w', 'month'] as const)(
    'every metric of every task in %s buckets',
    async (bucket) => {
      const versions = Object.entries(VERSIONS).map(([model_version, v]) => ({
        model_version,
        task: v.task,
        positive_class: v.positive,
      }));
      const from = Date.UTC(1969, 11, 1);
      const to = Date.UTC(2026, 3, 1);
      const result = await computeModelMetrics(db, { model: MODEL, versions, bucket, from, to });
      const expected = referenceMetrics(data.predictions, data.labels, {
        bucketOf: bucketOf(bucket),
        taskOf: (v) => VERSIONS[v]?.task ?? 'regression',
        positiveClassOf: (v) => VERSIONS[v]?.positive ?? '1',
      });
      expect(result.model_id).toBe(MODEL);
      expectMatches(result.buckets, expected, bucket);
      // The generated data exercise what they should.
      expect(result.buckets.some((b) => b.start < '1970')).toBe(true);
      expect(result.buckets.some((b) => b.roc_auc !== null)).toBe(true);
    },
  );

  it('filters by range and version', async () => {
    const from = Date.UTC(2026, 2, 1);
    const to = Date.UTC(2026, 2, 3);
    const result = await computeModelMetrics(db, {
      model: MODEL,
      versions: [{ model_version: 'mc', task: 'multiclass_classification', positive_class: '1' }],
      bucket: '1d',
      from,
      to,
    });
    const inRange = data.predictions.filter((p) => p.version === 'mc' && p.time >= from && p.time < to);
    const expected = referenceMetrics(inRange, data.labels, {
      bucketOf: bucketOf('1d'),
      taskOf: () => 'multiclass_classification',
    });
    expect(result.buckets).toHaveLength(2);
    expectMatches(result.buckets, expected, '1d');
  });

  it('gives the same rows whether or not the labels are narrowed to the predictions in range', async () => {
    const run = async (prefilterLabels: boolean) => {
      const { query, params } = metricsQuery({
        model: MODEL,
        task: 'binary_classification',
        versions: [
          { version: 'b1', positiveClass: '1' },
          { version: 'b2', positiveClass: 'yes' },
        ],
        bucket: parseBucket('1d')!,
        from: Date.UTC(2026, 1, 25),
        to: Date.UTC(2026, 2, 5),
        prefilterLabels,
      });
      const result = await db.client.query({ query, query_params: params, format: 'JSONEachRow' });
      return result.json();
    };
    const narrowed = await run(true);
    expect(narrowed.length).toBeGreaterThan(10);
    expect(narrowed).toEqual(await run(false));
  });
});
