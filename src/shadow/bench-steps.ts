import { bundledModelFile, InferenceCore } from '../inference/index.js';
import type { Database } from '../platform/clickhouse/index.js';
import {
  parseOptions,
  positiveWholeOption,
  withBenchEnvironment,
  type Bench,
} from '../platform/cli/index.js';
import { batchQuery } from './feed-sql.js';
import { SHADOW_SCORES_STRUCTURE } from './schema.js';
import { encodeShadowRows, readStoredBatch } from './stored-batch.js';

const COLUMNS = Array.from({ length: 10 }, (_, f) => ({ name: `f${f}`, type: 'number' as const }));

/** N predictions of the 10-feature model, stored by the engine in inserts of `batch` rows. */
async function store(db: Database, rows: number, batch: number): Promise<number[]> {
  for (let first = 0; first < rows; first += batch)
    await db.client.command({
      query: `INSERT INTO predictions (model_id, model_version, prediction_id, timestamp, features_num, prediction, score)
        SELECT 'steps', '1', concat('s-', toString(number)), toDateTime64('2026-01-01 00:00:00', 3, 'UTC') + number,
          mapFromArrays(arrayMap(f -> concat('f', toString(f)), range(10)),
            arrayMap(f -> ((number * 7919 + f * 104729) % 2000 - 1000) / 250, range(10))),
          toString(number % 2), (number % 1000) / 1000
        FROM numbers(${first}, ${Math.min(batch, rows - first)})`,
    });
  const result = await db.client.query({
    query: `SELECT DISTINCT toUnixTimestamp64Milli(ingested_at) AS at FROM predictions WHERE model_id = 'steps' ORDER BY at`,
    format: 'JSONEachRow',
  });
  return (await result.json<{ at: number }>()).map((r) => Number(r.at));
}

const cpu = () => {
  const used = process.cpuUsage();
  return (used.user + used.system) / 1e6;
};

/**
 * The shadow feed's steps one after another on stored rows, CPU seconds each (the process's,
 * engine threads included): the batch query, the JavaScript reading and writing the bytes, the
 * core, the insert. The service runs beside it with nothing to do.
 */
export const shadowStepsBench: Bench = {
  async run(args, context) {
    const usage = 'modelwatch bench shadow-steps [--rows N] [--batch ROWS]';
    const { values } = parseOptions(args, { rows: { type: 'string' }, batch: { type: 'string' } }, usage);
    const rows = positiveWholeOption('rows', values.rows, 100_000, usage);
    const batch = positiveWholeOption('batch', values.batch, 20_000, usage);
    await withBenchEnvironment('shadow-steps', async ({ config, brokers, logger }) => {
      const service = await context.startService({ config, logger, brokers, port: 0 });
      await service.ready;
      const core = new InferenceCore();
      try {
        const model = await core.loadFile('steps', bundledModelFile('synthetic-logistic-10'));
        const inserts = await store(service.db, rows, batch);
        const spent = { query: 0, javascript: 0, core: 0, insert: 0 };
        let lo = 0;
        for (const hi of inserts) {
          let at = cpu();
          const result = await service.db.client.exec({
            query: batchQuery(COLUMNS),
            query_params: { model: 'steps', version: '2', lo, hi, limit: batch },
          });
          const chunks: Buffer[] = [];
          for await (const chunk of result.stream) chunks.push(chunk as Buffer);
          spent.query += cpu() - at;
          at = cpu();
          const stored = readStoredBatch(Buffer.concat(chunks), COLUMNS.length);
          spent.javascript += cpu() - at;
          at = cpu();
          const scored = await model.scoreMatrix({
            values: stored.values,
            rows: stored.rows,
            layout: 'row-major',
          });
          spent.core += cpu() - at;
          at = cpu();
          const body = encodeShadowRows(stored, { ...scored, failed: new Map() }, Date.now());
          spent.javascript += cpu() - at;
          at = cpu();
          await service.db.insertJsonEachRow('shadow_scores', body, {
            structure: SHADOW_SCORES_STRUCTURE,
            format: 'RowBinary',
          });
          spent.insert += cpu() - at;
          lo = hi;
        }
        const per = (s: number) => ((s * 100_000) / rows).toFixed(3);
        process.stdout.write(
          `shadow feed steps, CPU s per 100,000 rows (${rows} rows, inserts of ${batch}): ` +
            `batch query ${per(spent.query)}, JavaScript ${per(spent.javascript)}, core ${per(spent.core)}, ` +
            `insert ${per(spent.insert)}; total ${per(spent.query + spent.javascript + spent.core + spent.insert)}\n`,
        );
      } finally {
        await core.close();
        await service.close();
      }
    });
  },
};
