import { describe, expect, it } from 'vitest';
import { describeError } from '../../src/api/errors.js';
import { metricsQuery } from '../../src/metrics/metrics-sql.js';
import type { Database } from '../../src/platform/clickhouse/index.js';
import { parseBucket } from '../../src/platform/time/index.js';
import { useMigratedEngine } from '../support/engine.js';
import { allMigrations } from '../support/migrations.js';

/**
 * A read the engine stops at its own limits (as a server's profile would set them) answers a 400
 * or a 503 naming what to do, not a 500: the errors as the real engine raises them.
 */
describe("the engine's limits as API errors", () => {
  let db: Database;
  useMigratedEngine('api_engine_limits', allMigrations, (opened) => (db = opened));

  async function failure(run: () => Promise<unknown>): Promise<unknown> {
    try {
      await run();
    } catch (err) {
      return err;
    }
    throw new Error('the query did not fail');
  }

  it("a metrics read over the query's memory limit is a 400 asking for a narrower range", async () => {
    await db.client.command({
      query: `INSERT INTO predictions (model_id, model_version, prediction_id, timestamp, prediction, prediction_num, score)
        SELECT 'm', '1', toString(number), toDateTime64('2026-03-01 00:00:00', 3, 'UTC') + number, toString(number % 2), number % 2, 0.5
        FROM numbers(100000)`,
    });
    const { query, params } = metricsQuery({
      model: 'm',
      task: 'binary_classification',
      versions: [{ version: '1', positiveClass: '1' }],
      bucket: parseBucket('1h')!,
      from: Date.UTC(2026, 2, 1),
      to: Date.UTC(2026, 2, 3),
      prefilterLabels: true,
    });
    const err = await failure(async () =>
      (
        await db.client.query({
          query,
          query_params: params,
          format: 'JSONEachRow',
          clickhouse_settings: { max_memory_usage: '100000' },
        })
      ).json(),
    );
    const body = describeError(err);
    expect(body.statusCode).toBe(400);
    expect(body.message).toContain('narrow the range');
  });

  it('a query over its time limit is a 503', async () => {
    const err = await failure(async () =>
      (
        await db.client.query({
          query: 'SELECT sleepEachRow(0.5) FROM numbers(10) SETTINGS max_block_size = 1',
          format: 'JSONEachRow',
          clickhouse_settings: { max_execution_time: 1, timeout_overflow_mode: 'throw' },
        })
      ).json(),
    );
    const body = describeError(err);
    expect(body.statusCode).toBe(503);
    expect(body.message).toContain('retry later');
  });
});
