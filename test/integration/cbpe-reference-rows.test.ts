import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendErrorReply } from '../../src/api/errors.js';
import { ModelRegistry } from '../../src/models/index.js';
import { estimationRoutes } from '../../src/performance-estimation/api/routes.js';
import type { EstimatedPerformance } from '../../src/performance-estimation/index.js';
import { EstimationService } from '../../src/performance-estimation/service/estimation-service.js';
import {
  readBandClasses,
  readReferenceFingerprint,
  readReferenceRows,
  type ReferenceKey,
} from '../../src/performance-estimation/store/calibrators.js';
import { LABELED_FINGERPRINT, bandClassesQuery } from '../../src/performance-estimation/store/labeled-sql.js';
import { migrate, openDatabase, type Database } from '../../src/platform/clickhouse/index.js';
import { MAX_BUCKETS, parseBucket } from '../../src/platform/time/index.js';
import { allMigrations } from '../support/migrations.js';

/**
 * The estimated-performance route on the embedded engine with rows written
 * straight to the tables (no Kafka): the labels side of the reference queries restricted to the
 * reference's predictions (finding 1), the missing-band cap (6), a version that sends no score
 * (10) and null / non-finite scores in the reference (11), ClickHouse's memory and time limits
 * (5) and Retry-After on a failed fit (9).
 */
const T0 = Date.UTC(2024, 0, 1);
const DAY = 86_400_000;

/** A small deterministic generator (LCG), so the data is the same on every run. */
function lcg(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

interface Prediction {
  id: string;
  model: string;
  version: string;
  time: number;
  /** null, or a SQL literal such as 'inf' / 'nan' through `rawScore`. */
  score: number | null;
  rawScore?: string;
  prediction: string;
}

let db: Database;
let dataDir: string;

async function insertPredictions(rows: Prediction[]): Promise<void> {
  const values = rows.map(
    (r) =>
      `('${r.model}', '${r.version}', '${r.id}', fromUnixTimestamp64Milli(toInt64(${r.time}), 'UTC'), '${r.prediction}', ` +
      `${r.rawScore ?? (r.score === null ? 'NULL' : String(r.score))}, false, '', '')`,
  );
  for (let i = 0; i < values.length; i += 5_000)
    await db.client.command({
      query: `INSERT INTO predictions (model_id, model_version, prediction_id, timestamp, prediction, score, is_error, entity_id, request_id)
              VALUES ${values.slice(i, i + 5_000).join(',')}`,
    });
}

async function insertLabels(
  rows: { id: string; label: string; time: number; model?: string }[],
): Promise<void> {
  for (let i = 0; i < rows.length; i += 5_000)
    await db.insertJsonEachRow(
      'labels',
      Buffer.from(
        rows
          .slice(i, i + 5_000)
          .map((r) =>
            JSON.stringify({
              prediction_id: r.id,
              model_id: r.model ?? '',
              label: r.label,
              timestamp: r.time,
            }),
          )
          .join('\n'),
      ),
    );
}

async function insertVersion(model: string, version: string): Promise<void> {
  await db.insertJsonEachRow(
    'model_versions',
    Buffer.from(
      JSON.stringify({
        model_id: model,
        model_version: version,
        task: 'binary_classification',
        task_source: 'declared',
        positive_class: '1',
        stage: 'production',
        first_seen: T0,
        revision: 1,
      }),
    ),
  );
}

/** `n` scored predictions of `model` version 1 spread over [from, from + span), labeled when `labeled`. */
async function play(
  model: string,
  from: number,
  span: number,
  n: number,
  options: {
    labeled: boolean;
    seed?: number;
    score?: (s: number, k: number) => Pick<Prediction, 'score' | 'rawScore'>;
  },
): Promise<Prediction[]> {
  const random = lcg(options.seed ?? 5);
  const rows: Prediction[] = [];
  const labels: { id: string; label: string; time: number }[] = [];
  for (let k = 0; k < n; k++) {
    const s = Math.round(random() * 1000) / 1000;
    const id = `${model}-${from}-${k}`;
    rows.push({
      id,
      model,
      version: '1',
      time: from + Math.floor((k * span) / n),
      prediction: s >= 0.5 ? '1' : '0',
      score: s,
      ...options.score?.(s, k),
    });
    if (options.labeled) labels.push({ id, label: random() < s * s ? '1' : '0', time: from + span + DAY });
  }
  await insertPredictions(rows);
  if (options.labeled) await insertLabels(labels);
  return rows;
}

type References = Record<string, { from: number; to: number }>;

function makeService(references: References, target: Database = db, now?: () => number) {
  return new EstimationService({
    db: target,
    models: new ModelRegistry(target),
    drift: {
      reference: (key: { modelId: string }) => {
        const r = references[key.modelId];
        return Promise.resolve(r ? ({ source: 'range', ...r, revision: 1 } as never) : undefined);
      },
    },
    now,
  });
}

async function makeApp(service: EstimationService, now?: () => number) {
  const app = Fastify();
  app.setErrorHandler((e, request, reply) => sendErrorReply(e, request, reply));
  await app.register(estimationRoutes({ service, now }), { prefix: '/api/v1' });
  await app.ready();
  return app;
}

/** A database whose queries containing `marker` fail with `error`. */
function failing(marker: string, error: () => Error): Database {
  return Object.create(db, {
    client: {
      value: new Proxy(db.client, {
        get(target, property, receiver): unknown {
          if (property === 'query')
            return (params: { query: string }) =>
              params.query.includes(marker) ? Promise.reject(error()) : target.query(params);
          return Reflect.get(target, property, receiver);
        },
      }),
    },
  }) as Database;
}

function clickhouseError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

const url = (model: string, query: string) =>
  `/api/v1/models/${model}/estimated-performance?version=1&${query}`;

describe('estimated performance on the reference rows (embedded engine)', () => {
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'modelwatch-cbpe-r28-'));
    db = await openDatabase({ url: undefined, cluster: undefined, database: 'cbpe_r28', dataDir });
    await migrate(db, allMigrations);
  });

  afterAll(async () => {
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('reads only the labels of the reference period: older labels of the model change nothing (finding 1)', async () => {
    await insertVersion('m1', '1');
    await play('m1', T0, DAY, 3_000, { labeled: true });
    await play('m1', T0 + DAY, DAY, 3_000, { labeled: false, seed: 9 });
    const references = { m1: { from: T0, to: T0 + DAY } };
    const key: ReferenceKey = { modelId: 'm1', version: '1', positiveClass: '1', from: T0, to: T0 + DAY };
    const sixHours = parseBucket('6h')!;
    const read = async () => ({
      fingerprint: await readReferenceFingerprint(db, key),
      rows: await readReferenceRows(db, key),
      classes: await readBandClasses(db, key, sixHours),
      route: (
        await (
          await makeApp(makeService(references))
        ).inject({
          method: 'GET',
          url: url('m1', 'from=2024-01-01&to=2024-01-03&bucket=6h'),
        })
      ).json<EstimatedPerformance>(),
    });
    const before = await read();
    expect(before.rows.scores).toHaveLength(3_000);
    expect(before.route.reference.rows).toBe(3_000);
    expect(before.route.buckets).toHaveLength(8);

    // 60k older predictions of the model with labels (unnamed, and named for 20k of them), and
    // 20k labels of another model: none of them is in the reference period.
    await db.client.command({
      query: `INSERT INTO predictions (model_id, model_version, prediction_id, timestamp, prediction, score, is_error, entity_id, request_id)
              SELECT 'm1', '1', concat('old-', toString(number)), fromUnixTimestamp64Milli(toInt64(${T0 - 40 * DAY} + number * 40000), 'UTC'),
                if(s >= 0.5, '1', '0'), s, false, '', ''
              FROM (SELECT number, (number * 7919 % 1000) / 1000 AS s FROM numbers(60000))`,
    });
    for (const [model, label, n] of [
      ['', 'number % 3 = 0', 60_000],
      ['m1', 'number % 2 = 0', 20_000],
      ['other', '1', 20_000],
    ] as const)
      await db.client.command({
        query: `INSERT INTO labels (prediction_id, model_id, label, timestamp)
                SELECT concat('old-', toString(number)), '${model}', toString(toUInt8(${label})),
                  fromUnixTimestamp64Milli(toInt64(${T0}), 'UTC')
                FROM numbers(${n})`,
      });
    const after = await read();
    expect(after.fingerprint).toBe(before.fingerprint);
    expect(Array.from(after.rows.scores)).toEqual(Array.from(before.rows.scores));
    expect(Array.from(after.rows.labels)).toEqual(Array.from(before.rows.labels));
    expect(after.classes).toEqual(before.classes);
    expect(after.route).toEqual(before.route);

    // The labels read is pruned by its primary key (prediction_id) to the reference's ids. The
    // check reads EXPLAIN's text for the labels table, so an engine upgrade that rewords it
    // fails here rather than passing silently.
    const params = { model: 'm1', version: '1', positive: '1', from: T0, to: T0 + DAY };
    for (const query of [LABELED_FINGERPRINT, bandClassesQuery(sixHours)]) {
      const plan = await (
        await db.client.query({
          query: `EXPLAIN indexes = 1 ${query}`,
          query_params: params,
          format: 'TabSeparatedRaw',
        })
      ).text();
      const labelsRead = plan.slice(plan.indexOf('ReadFromMergeTree (cbpe_r28.labels)'));
      const primaryKey = labelsRead.slice(labelsRead.indexOf('PrimaryKey'));
      expect(primaryKey, plan).toMatch(/Condition: .*prediction_id in \d+-element set/);
      const [, read, total] = /Granules: (\d+)\/(\d+)/.exec(primaryKey) ?? [];
      expect(Number(read), plan).toBeLessThan(Number(total));
    }
  }, 180_000);

  it('has no band, with a warning, when the reference cut into the bucket exceeds the bucket cap (finding 6)', async () => {
    await insertVersion('long', '1');
    // An 8-day reference: 11520 one-minute buckets, over MAX_BUCKETS.
    await play('long', T0 - 8 * DAY, 8 * DAY, 4_000, { labeled: true });
    await play('long', T0, DAY, 500, { labeled: false, seed: 3 });
    const app = await makeApp(makeService({ long: { from: T0 - 8 * DAY, to: T0 } }));
    const minute = await app.inject({
      method: 'GET',
      url: url('long', 'from=2024-01-01T00:00:00Z&to=2024-01-01T01:00:00Z&bucket=1m'),
    });
    expect(minute.statusCode).toBe(200);
    const body = minute.json<EstimatedPerformance>();
    expect(body.buckets.length).toBeGreaterThan(0);
    for (const bucket of body.buckets) {
      expect(bucket.band).toEqual({ roc_auc: null, accuracy: null, precision: null, recall: null, f1: null });
      expect(bucket.alerts).toEqual([]);
    }
    expect(body.warnings.join('\n')).toContain(
      `the reference period cut into 1m buckets is 11520 buckets, more than the ${MAX_BUCKETS} a request may cover`,
    );
    // Nothing of the reference was computed (nor cached) at 1m.
    const [cached] = await (
      await db.client.query({
        query:
          "SELECT count() AS n FROM metrics_bucket_cache WHERE model_id = 'long' AND start_ms < {t0:Int64}",
        query_params: { t0: T0 },
        format: 'JSONEachRow',
      })
    ).json<{ n: string | number }>();
    expect(Number(cached?.n)).toBe(0);
    // Under the cap, the band is there.
    const hourly = (
      await app.inject({ method: 'GET', url: url('long', 'from=2024-01-01&to=2024-01-02&bucket=1h') })
    ).json<EstimatedPerformance>();
    expect(hourly.buckets[0]!.band.accuracy).not.toBeNull();
    expect(hourly.warnings.join('\n')).not.toMatch(/more than the/);
  }, 180_000);

  it('names the missing score when the labeled reference rows have none (finding 10)', async () => {
    await insertVersion('noscore', '1');
    await play('noscore', T0, DAY, 400, { labeled: true, score: () => ({ score: null }) });
    await play('noscore', T0 + DAY, DAY, 400, { labeled: false, seed: 4, score: () => ({ score: null }) });
    const app = await makeApp(makeService({ noscore: { from: T0, to: T0 + DAY } }));
    const response = await app.inject({
      method: 'GET',
      url: url('noscore', 'from=2024-01-01&to=2024-01-03&bucket=6h'),
    });
    expect(response.statusCode).toBe(200);
    const body = response.json<EstimatedPerformance>();
    expect(body).toMatchObject({ calibrated: false, reference: { rows: 0, calibration_reason: 'no_rows' } });
    expect(body.buckets).toEqual([]);
    const warnings = body.warnings.join('\n');
    expect(warnings).toContain(
      "the version sends no `score`: none of the reference period's 400 labeled predictions has a finite score",
    );
    expect(warnings).not.toMatch(/no labeled prediction/);
  });

  it('leaves null and non-finite scores out of the reference rows and of the counts (finding 11)', async () => {
    await insertVersion('mixed', '1');
    // Every 4th reference row has a null, +inf, -inf or NaN score: 400 of 1600 are unusable.
    const odd = ['NULL', 'inf', '-inf', 'nan'];
    await play('mixed', T0, DAY, 1_600, {
      labeled: true,
      score: (s, k) => (k % 4 === 0 ? { score: null, rawScore: odd[(k / 4) % 4] } : { score: s }),
    });
    const app = await makeApp(makeService({ mixed: { from: T0, to: T0 + DAY } }));
    const body = (
      await app.inject({ method: 'GET', url: url('mixed', 'from=2024-01-01&to=2024-01-02&bucket=1d') })
    ).json<EstimatedPerformance>();
    expect(body.reference.rows).toBe(1_200);
    expect(body.buckets.map((b) => b.count)).toEqual([1_200]);
    expect(body.warnings.join('\n')).not.toMatch(/score/);
  });

  it('maps ClickHouse memory and time limits to 400 and 503, and says when to retry a failed fit (findings 5, 9)', async () => {
    await insertVersion('limits', '1');
    await play('limits', T0, DAY, 1_000, { labeled: true });
    const references = { limits: { from: T0, to: T0 + DAY } };
    const get = async (target: Database, now?: () => number) =>
      (await makeApp(makeService(references, target, now), now)).inject({
        method: 'GET',
        url: url('limits', 'from=2024-01-01&to=2024-01-02&bucket=1d'),
      });
    const estimate = 'ASOF INNER JOIN';

    const memory = await get(
      failing(estimate, () =>
        clickhouseError(
          '241',
          'Memory limit (for query) exceeded: would use 109.24 MiB: While executing AggregatingTransform',
        ),
      ),
    );
    expect(memory.statusCode).toBe(400);
    expect(memory.json<{ message: string }>().message).toMatch(/narrow the range \(from, to\)/);
    // The server's total memory is no fault of the request: an internal error as before.
    const total = await get(failing(estimate, () => clickhouseError('241', 'Memory limit (total) exceeded')));
    expect(total.statusCode).toBe(500);

    const timeout = await get(
      failing(estimate, () => clickhouseError('159', 'Timeout exceeded: elapsed 30 seconds')),
    );
    expect(timeout.statusCode).toBe(503);
    expect(timeout.headers['retry-after']).toBe('5');
    expect(timeout.json<{ message: string }>().message).toMatch(
      /narrow the range \(from, to\), or retry later/,
    );

    // A failed fit: 503 with the seconds until it is tried again (5 minutes).
    await insertVersion('fitfail', '1');
    await play('fitfail', T0, DAY, 1_000, { labeled: true });
    const now = () => T0 + 10 * DAY;
    const fit = await (
      await makeApp(
        makeService(
          { fitfail: { from: T0, to: T0 + DAY } },
          failing('ORDER BY p.timestamp, p.prediction_id', () => new Error('socket hang up')),
          now,
        ),
        now,
      )
    ).inject({ method: 'GET', url: url('fitfail', 'from=2024-01-01&to=2024-01-02&bucket=1d') });
    expect(fit.statusCode).toBe(503);
    expect(fit.json<{ message: string }>().message).toMatch(/could not be fitted .*socket hang up/);
    expect(fit.headers['retry-after']).toBe('300');
  });
});
