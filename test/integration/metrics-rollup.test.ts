import fc from 'fast-check';
import { beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { computeModelMetrics, type MetricsBucket } from '../../src/metrics/index.js';
import { sweepWaitingLabels } from '../../src/metrics/label-sweep.js';
import type { Database } from '../../src/platform/clickhouse/index.js';
import { useMigratedEngine } from '../support/engine.js';
import { allMigrations } from '../support/migrations.js';
import { numberOf } from '../unit/metrics/reference.js';

/**
 * The pre-joined labeled table (the route's default path) against the read-time join (path
 * `raw`), field by field, for random traffic: labels before and after their predictions and
 * weeks late, corrections (later and earlier event times), labels naming the model, another
 * model or none, orphan labels, redelivered predictions, two models sharing prediction ids,
 * batches inserted concurrently (a label and its prediction in flight together), and reads
 * between the batches. The route's default reads go through the bucket cache: each read is
 * done twice (the second answered from the cache) and without the cache, and all three must
 * equal the raw path, so a cached bucket that a batch changed and the cache kept would fail.
 */

const DAY = 86_400_000;
const BASE = Date.UTC(2026, 2, 30, 22);
const VERSIONS = [
  { model_version: 'b1', task: 'binary_classification' as const, positive_class: '1' },
  { model_version: 'b2', task: 'binary_classification' as const, positive_class: 'yes' },
  { model_version: 'mc', task: 'multiclass_classification' as const, positive_class: '1' },
  { model_version: 'rg', task: 'regression' as const, positive_class: '1' },
];
/** One hour of a model's first version, read as the route does (`rollup`) or by the read-time join. */
async function readHour(db: Database, model: string, hour: number, path: 'rollup' | 'raw') {
  const versions = [VERSIONS[0]!];
  return (
    await computeModelMetrics(db, { model, versions, bucket: '1h', from: hour, to: hour + 3_600_000, path })
  ).buckets;
}

const VALUES: Record<string, (string | number | boolean)[]> = {
  b1: [0, 1, true, false, '1', '0'],
  b2: ['yes', 'no'],
  mc: ['a', 'b', 'c'],
  rg: [0, 1.5, 2, 10, -3, 'n/a'],
};

const predictionArb = fc.record({
  id: fc.integer({ min: 0, max: 7 }),
  other: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
  version: fc.constantFrom('b1', 'b2', 'mc', 'rg'),
  minute: fc.integer({ min: 0, max: 60 * 26 }),
  valueIndex: fc.nat(),
  score: fc.option(fc.integer({ min: 0, max: 10 }).map((n) => n / 10)),
  latency: fc.option(fc.integer({ min: 1, max: 500 })),
  error: fc.boolean(),
});
const labelArb = fc.record({
  id: fc.integer({ min: 0, max: 9 }),
  names: fc.constantFrom('', 'own', 'other'),
  version: fc.constantFrom('b1', 'b2', 'mc', 'rg'),
  valueIndex: fc.nat(),
  // Up to five weeks after the traffic: late labels, and corrections in either time order.
  hours: fc.integer({ min: 0, max: 24 * 35 }),
});
const opArb = fc.oneof(
  { weight: 3, arbitrary: predictionArb.map((p) => ({ kind: 'prediction' as const, p })) },
  { weight: 1, arbitrary: fc.nat().map((n) => ({ kind: 'redeliver' as const, n })) },
  { weight: 3, arbitrary: labelArb.map((l) => ({ kind: 'label' as const, l })) },
);
const trafficArb = fc.record({
  ops: fc.array(opArb, { minLength: 15, maxLength: 40 }),
  // Where the ops are cut into batches, which batch pairs go in together, where reads happen.
  cuts: fc.array(fc.nat(), { maxLength: 5 }),
  order: fc.array(fc.constantFrom('predictions first', 'labels first', 'together'), {
    minLength: 6,
    maxLength: 6,
  }),
  // A read between segments now and then (a sweep, and a bucket read before its labels came).
  readAfter: fc.array(
    fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
    { minLength: 6, maxLength: 6 },
  ),
  bucket: fc.constantFrom('5m', '1h', '1d', '1w', 'month'),
});

type Row = { table: 'predictions' | 'labels'; line: string };

function rowsOf(model: string, ops: Traffic['ops']): Row[] {
  const predictions: string[] = [];
  const rows: Row[] = [];
  ops.forEach((op, i) => {
    if (op.kind === 'redeliver') {
      if (predictions.length > 0)
        rows.push({ table: 'predictions', line: predictions[op.n % predictions.length]! });
      return;
    }
    if (op.kind === 'prediction') {
      const { p } = op;
      const values = VALUES[p.version]!;
      const prediction = values[p.valueIndex % values.length]!;
      const line = JSON.stringify({
        model_id: p.other ? `${model}-other` : model,
        model_version: p.version,
        prediction_id: `p${p.id}`,
        timestamp: new Date(BASE + p.minute * 60_000).toISOString(),
        prediction: String(prediction),
        prediction_num: numberOf(prediction),
        score: p.score,
        latency_ms: p.latency,
        is_error: p.error,
      });
      predictions.push(line);
      rows.push({ table: 'predictions', line });
      return;
    }
    const { l } = op;
    const values = VALUES[l.version]!;
    const label = values[l.valueIndex % values.length]!;
    rows.push({
      table: 'labels',
      line: JSON.stringify({
        prediction_id: `p${l.id}`,
        model_id: { '': '', own: model, other: `${model}-other` }[l.names],
        label: String(label),
        label_num: numberOf(label),
        // Distinct times (the op's index in the last digits): which label wins never rests on insert order.
        timestamp: new Date(BASE + l.hours * 3_600_000 + i).toISOString(),
      }),
    });
  });
  return rows;
}

type Traffic = typeof trafficArb extends fc.Arbitrary<infer T> ? T : never;

/**
 * The rows cut where the traffic says into at most 6 segments; each segment is one batch per
 * table (the order of the rows within a table kept), so labels and predictions of a segment
 * may go in either order or together.
 */
function segments(rows: Row[], cuts: number[]): { predictions: Row[]; labels: Row[] }[] {
  const at = new Set(cuts.map((c) => c % Math.max(rows.length, 1)));
  const out: { predictions: Row[]; labels: Row[] }[] = [];
  rows.forEach((row, i) => {
    if (out.length === 0 || at.has(i)) out.push({ predictions: [], labels: [] });
    out.at(-1)![row.table].push(row);
  });
  return out;
}

function expectSame(rollup: MetricsBucket[], raw: MetricsBucket[]): void {
  expect(rollup.map((b) => `${b.version}@${b.start}`)).toEqual(raw.map((b) => `${b.version}@${b.start}`));
  rollup.forEach((a, i) => {
    const e = raw[i]!;
    const where = `${a.version}@${a.start}`;
    expect([a.count, a.labeled, a.task], where).toEqual([e.count, e.labeled, e.task]);
    const fields = [
      'throughput',
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
    ] as const;
    for (const f of fields) close(a[f], e[f], `${where} ${f}`);
    for (const q of ['p50', 'p95', 'p99', 'max'] as const)
      close(a.latency_ms[q], e.latency_ms[q], `${where} ${q}`);
  });
}

/** Equal, up to the rounding of a sum taken in another order. */
function close(a: number | null, e: number | null, what: string): void {
  if (a === null || e === null) expect(a, what).toBe(e);
  else expect(Math.abs(a - e), `${what}: ${a} vs ${e}`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(e)));
}

describe('rollup and raw paths agree (embedded engine, random traffic)', () => {
  let db: Database;

  useMigratedEngine('metrics_rollup', allMigrations, (opened) => (db = opened));

  it('every field of every bucket, for every version', async () => {
    let run = 0;
    let labeledSeen = 0;
    const cache = { hits: 0, computed: 0, hitsAfterChange: 0 };
    await fc.assert(
      fc.asyncProperty(trafficArb, async (traffic) => {
        const model = `m${run++}`;
        const request = {
          model,
          versions: VERSIONS,
          bucket: traffic.bucket,
          from: BASE - 7 * DAY,
          to: BASE + 7 * DAY,
        };
        const read = async (p: 'rollup' | 'raw') => {
          if (p === 'raw') return computeModelMetrics(db, { ...request, path: 'raw' });
          let first = { hits: 0, computed: 0 };
          const fresh = await computeModelMetrics(db, { ...request, onCache: (s) => (first = s) });
          let again = { hits: 0, computed: 0 };
          const cached = await computeModelMetrics(db, { ...request, onCache: (s) => (again = s) });
          expectSame(cached.buckets, fresh.buckets);
          expectSame((await computeModelMetrics(db, { ...request, cache: false })).buckets, fresh.buckets);
          cache.hits += again.hits;
          cache.computed += first.computed;
          cache.hitsAfterChange += first.computed > 0 ? first.hits : 0;
          return fresh;
        };
        const insert = async (batch: Row[]) => {
          if (batch.length > 0)
            await db.insertJsonEachRow(batch[0]!.table, Buffer.from(batch.map((r) => r.line).join('\n')));
        };
        const all = segments(rowsOf(model, traffic.ops), traffic.cuts);
        for (const [i, { predictions, labels }] of all.entries()) {
          const order = traffic.order[i]!;
          if (order === 'together') await Promise.all([insert(predictions), insert(labels)]);
          else if (order === 'labels first') await insert(labels).then(() => insert(predictions));
          else await insert(predictions).then(() => insert(labels));
          if (traffic.readAfter[i]) expectSame((await read('rollup')).buckets, (await read('raw')).buckets);
        }
        const [rollup, raw] = [await read('rollup'), await read('raw')];
        expectSame(rollup.buckets, raw.buckets);
        labeledSeen += raw.buckets.reduce((n, b) => n + b.labeled, 0);
      }),
      // 12 runs of ~1 s (25 took 26 s of the suite): 80 labeled rows, 222 cache hits, 150 buckets computed.
      { numRuns: 12, seed: 1717, endOnFailure: true },
    );
    // The traffic did join labels (a property over unlabeled buckets only would prove little).
    expect(labeledSeen).toBeGreaterThan(40);
    // The cache answered reads, and reads after a batch recomputed some buckets and kept others.
    expect(cache.hits).toBeGreaterThan(100);
    expect(cache.computed).toBeGreaterThan(100);
    expect(cache.hitsAfterChange).toBeGreaterThan(5);
  }, 300_000);

  it.each([
    ['1', 1],
    ['0', 0],
  ] as const)(
    'a prediction corrected before its label arrives (last %s): the label joins the last one stored, as the raw path',
    async (last, accuracy) => {
      const model = `corrected-before-label-${last}`;
      const hour = Date.UTC(2026, 3, 3, 10);
      const prediction = (value: string, score: number) =>
        Buffer.from(
          JSON.stringify({
            model_id: model,
            model_version: 'b1',
            prediction_id: 'c1',
            timestamp: new Date(hour).toISOString(),
            prediction: value,
            prediction_num: Number(value),
            score,
            is_error: false,
          }),
        );
      // The same key again and again with other content, one batch each: the last insert wins under FINAL.
      for (const [value, score] of [
        ['0', 0.1],
        ['1', 0.9],
        ['0', 0.2],
        ['1', 0.8],
        [last, 0.5],
      ] as const)
        await db.insertJsonEachRow('predictions', prediction(value, score));
      const label = {
        prediction_id: 'c1',
        model_id: model,
        label: '1',
        label_num: 1,
        timestamp: new Date(hour + 1000).toISOString(),
      };
      await db.insertJsonEachRow('labels', Buffer.from(JSON.stringify(label)));
      const raw = await readHour(db, model, hour, 'raw');
      expect([raw[0]?.labeled, raw[0]?.accuracy]).toEqual([1, accuracy]);
      expectSame(await readHour(db, model, hour, 'rollup'), raw);
    },
  );

  describe('a label corrected with the same event time (equal rank: the one stored last wins, as labels FINAL keeps)', () => {
    const hour = Date.UTC(2026, 3, 4, 10);
    const ids = Array.from({ length: 20 }, (_, i) => `s${i}`);
    const store = (table: 'predictions' | 'labels', rows: object[]) =>
      db.insertJsonEachRow(table, Buffer.from(rows.map((r) => JSON.stringify(r)).join('\n')));
    const predictions = (model: string) =>
      store(
        'predictions',
        ids.map((id, i) => ({
          model_id: model,
          model_version: 'b1',
          prediction_id: id,
          timestamp: new Date(hour + i).toISOString(),
          prediction: '1',
          prediction_num: 1,
          score: 0.9,
          is_error: false,
        })),
      );
    // The first label says 1 (right), its correction 0 (wrong), one batch each, the same event time.
    const labelThenCorrection = async (model: string) => {
      for (const label of ['1', '0'])
        await store(
          'labels',
          ids.map((id) => ({
            prediction_id: id,
            model_id: model,
            label,
            label_num: Number(label),
            timestamp: new Date(hour + 60_000).toISOString(),
          })),
        );
    };
    const expectCorrected = async (model: string) => {
      const raw = await readHour(db, model, hour, 'raw');
      expect([raw[0]?.labeled, raw[0]?.accuracy]).toEqual([20, 0]);
      expectSame(await readHour(db, model, hour, 'rollup'), raw);
    };

    // Unmerged, the label and its correction stay two rows of labels and label_lookup.
    beforeEach(async () => {
      for (const table of ['labels', 'label_lookup'])
        await db.client.command({ query: `SYSTEM STOP MERGES ${table}` });
      onTestFinished(async () => {
        for (const table of ['labels', 'label_lookup'])
          await db.client.command({ query: `SYSTEM START MERGES ${table}` });
      });
    });

    it('a redelivered prediction does not bring the replaced label back', async () => {
      const model = 'same-time-redelivered';
      await predictions(model);
      await labelThenCorrection(model);
      await expectCorrected(model);
      await predictions(model);
      await expectCorrected(model);
    });

    it('nor does its prediction stored after both, nor a sweep that rewrites its window', async () => {
      const model = 'same-time-swept';
      await labelThenCorrection(model);
      await predictions(model);
      await expectCorrected(model);
      await labelThenCorrection(model);
      // Above the checked maximum: the window's joined rows are written again, unchecked.
      await sweepWaitingLabels(db, { checkedMax: 0, sliceLabels: 1000 });
      await expectCorrected(model);
    });
  });

  it('a label and its prediction stored together, neither view seeing the other, count on the next read', async () => {
    const model = 'race';
    const hour = Date.UTC(2026, 3, 1, 10);
    const read = (p: 'rollup' | 'raw') => readHour(db, model, hour, p);
    // The label-side view is taken away while the label is stored, as if it had looked before
    // the prediction's rows were there (and the prediction's view before the label's).
    await db.client.command({ query: 'DETACH TABLE labeled_from_labels_mv' });
    try {
      await db.insertJsonEachRow(
        'predictions',
        Buffer.from(
          JSON.stringify({
            model_id: model,
            model_version: 'b1',
            prediction_id: 'r1',
            timestamp: new Date(hour).toISOString(),
            prediction: '1',
            prediction_num: 1,
            score: 0.9,
            is_error: false,
          }),
        ),
      );
      const label = {
        prediction_id: 'r1',
        model_id: model,
        label: '0',
        label_num: 0,
        timestamp: new Date(hour + 1000).toISOString(),
      };
      await db.insertJsonEachRow('labels', Buffer.from(JSON.stringify(label)));
    } finally {
      await db.client.command({ query: 'ATTACH TABLE labeled_from_labels_mv' });
    }
    const before = await db.client.query({
      query: `SELECT count() AS n FROM labeled_predictions WHERE model_id = 'race'`,
      format: 'JSONEachRow',
    });
    expect(await before.json()).toEqual([{ n: 0 }]);
    const [bucket] = await read('rollup');
    expect([bucket?.labeled, bucket?.accuracy]).toEqual([1, 0]);
    expect(await read('rollup')).toEqual(await read('raw'));
    // Nothing stored since: further reads skip the sweep and write nothing.
    const sweeps = async () =>
      (
        await (
          await db.client.query({ query: 'SELECT count() AS n FROM labeled_sweeps', format: 'JSONEachRow' })
        ).json()
      )[0];
    const recorded = await sweeps();
    await read('rollup');
    await read('rollup');
    expect(await sweeps()).toEqual(recorded);
  });
  it('a label swept before its prediction committed, neither view seeing the other, counts on the next read', async () => {
    const model = 'race-late-prediction';
    const hour = Date.UTC(2026, 3, 2, 10);
    const read = (p: 'rollup' | 'raw') => readHour(db, model, hour, p);
    const label = {
      prediction_id: 'p1',
      model_id: model,
      label: '1',
      label_num: 1,
      timestamp: new Date(hour).toISOString(),
    };
    await db.insertJsonEachRow('labels', Buffer.from(JSON.stringify(label)));
    // A sweep sees the label's part before its prediction is there: it joins nothing.
    expect(await read('rollup')).toEqual([]);
    // The prediction's view looks before the label was committed: taken away while it is stored.
    await db.client.command({ query: 'DETACH TABLE labeled_from_predictions_mv' });
    try {
      const prediction = {
        model_id: model,
        model_version: 'b1',
        prediction_id: 'p1',
        timestamp: new Date(hour).toISOString(),
        prediction: '1',
        prediction_num: 1,
        score: 0.9,
        is_error: false,
      };
      await db.insertJsonEachRow('predictions', Buffer.from(JSON.stringify(prediction)));
    } finally {
      await db.client.command({ query: 'ATTACH TABLE labeled_from_predictions_mv' });
    }
    // The label's part was seen; the prediction's part was not, so the sweep reads its label.
    const [bucket] = await read('rollup');
    expect([bucket?.labeled, bucket?.accuracy]).toEqual([1, 1]);
    expect(await read('rollup')).toEqual(await read('raw'));
  });

  it('a sweep cut into slices joins every label both views missed, each once', async () => {
    const hour = Date.UTC(2026, 3, 3, 10);
    const rows = (model: string, n: number, kind: 'prediction' | 'label', id: (i: number) => string) =>
      Buffer.from(
        Array.from({ length: n }, (_, i) => {
          const common = {
            model_id: model,
            prediction_id: id(i),
            timestamp: new Date(hour + i).toISOString(),
          };
          return JSON.stringify(
            kind === 'label'
              ? { ...common, label: String(i % 2), label_num: i % 2 }
              : {
                  ...common,
                  model_version: 'b1',
                  prediction: String(i % 3 === 0 ? 1 : 0),
                  prediction_num: i % 3 === 0 ? 1 : 0,
                  score: 0.5,
                  is_error: false,
                },
          );
        }).join('\n'),
      );
    // Both sides stored with their joining views taken away: every pair is the sweep's to find.
    const storeUnjoined = async (model: string, n: number, id = (i: number) => `${model}-${i}`) => {
      await db.client.command({ query: 'DETACH TABLE labeled_from_predictions_mv' });
      await db.client.command({ query: 'DETACH TABLE labeled_from_labels_mv' });
      try {
        await db.insertJsonEachRow('predictions', rows(model, n, 'prediction', id));
        await db.insertJsonEachRow('labels', rows(model, n, 'label', id));
      } finally {
        await db.client.command({ query: 'ATTACH TABLE labeled_from_predictions_mv' });
        await db.client.command({ query: 'ATTACH TABLE labeled_from_labels_mv' });
      }
    };
    const stored = async (model: string) =>
      (
        await (
          await db.client.query({
            query: `SELECT count() AS n, uniqExact(prediction_id) AS ids FROM labeled_predictions WHERE model_id = {model:String}`,
            query_params: { model },
            format: 'JSONEachRow',
          })
        ).json<{ n: number; ids: number }>()
      )[0];
    const read = (model: string, p: 'rollup' | 'raw') => readHour(db, model, hour, p);

    // A sweep first, so the ones below read the parts it had not seen (not the migration's margin).
    await sweepWaitingLabels(db);
    // Merges held back, so a row written twice stays two rows until the counts below.
    await db.client.command({ query: 'SYSTEM STOP MERGES labeled_predictions' });
    onTestFinished(async () => {
      await db.client.command({ query: 'SYSTEM START MERGES labeled_predictions' });
    });
    // Above the checked maximum: rewritten, 300 labels in slices of at most 40 (8 slices).
    await storeUnjoined('sliced-rewrite', 300);
    await sweepWaitingLabels(db, { checkedMax: 100, sliceLabels: 40 });
    // Each joined row once: no label left out of every slice, none written twice (checked below too).
    expect(await stored('sliced-rewrite')).toEqual({ n: 300, ids: 300 });
    // Under it: only the missing rows, 60 labels in slices of at most 7 (9 slices).
    await storeUnjoined('sliced-checked', 60);
    await sweepWaitingLabels(db, { checkedMax: 100, sliceLabels: 7 });
    expect(await stored('sliced-checked')).toEqual({ n: 60, ids: 60 });
    expect(await stored('sliced-rewrite')).toEqual({ n: 300, ids: 300 });
    // Ids of any text become the slices' bounds (query parameters), compared in the engine's byte
    // order, which is not JavaScript's for characters beyond U+FFFF: each label still joined once.
    const texts = ["'", '\\', '\t', '\n', '"', '\0', '😀', '\uFFFD', '\uFF01', 'é', ' ', '{x:String}', ''];
    const textId = (i: number) => `${texts[i % texts.length]}${i}${texts[(i * 7) % texts.length]}`;
    await storeUnjoined('sliced-texts', 130, textId);
    await sweepWaitingLabels(db, { checkedMax: 50, sliceLabels: 9 });
    expect(await stored('sliced-texts')).toEqual({ n: 130, ids: 130 });
    for (const model of ['sliced-rewrite', 'sliced-checked']) {
      const [bucket] = await read(model, 'rollup');
      expect(bucket?.labeled).toBe(model === 'sliced-rewrite' ? 300 : 60);
      expect(await read(model, 'rollup')).toEqual(await read(model, 'raw'));
    }
  });
});
