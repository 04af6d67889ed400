/**
 * The metrics' copies of predictions and labels (`prediction_lookup`, `label_lookup`,
 * `labeled_predictions`), removed by retention with the rows they copy (SPEC 8): a deleted label
 * must neither stay stored nor keep counting in the metrics route.
 */
import type { Database } from '../platform/clickhouse/index.js';
import { labelsJoinLookup } from './schema.js';

const SYNC = { mutations_sync: '2' } as const;

export type RetainedTable = 'predictions' | 'labels';

export interface MetricsRowCopies {
  /** The copies of each table, named in the deletion's audit record. */
  readonly tables: Readonly<Record<RetainedTable, readonly string[]>>;
  /**
   * Removes the copies of the rows of `table` that `where` selects (on `timestamp`, `model_id`
   * and `prediction_id`). Called before those rows are deleted: a label's copy is re-joined from
   * the labels that stay, which needs the deleted ones to know which ids to redo.
   */
  remove(db: Database, table: RetainedTable, where: string, params: Record<string, unknown>): Promise<void>;
}

async function run(db: Database, query: string, params: Record<string, unknown>): Promise<void> {
  await db.client.command({ query, query_params: params, clickhouse_settings: SYNC });
}

/** Copies keyed by the prediction's own time and model: the same condition selects them. */
async function removePredictionCopies(db: Database, where: string, params: Record<string, unknown>) {
  await run(db, `ALTER TABLE prediction_lookup DELETE WHERE ${where}`, params);
  await run(db, `ALTER TABLE labeled_predictions DELETE WHERE ${where}`, params);
}

/**
 * A labeled row holds the winning label of its prediction: the rows of every id losing a label
 * go, and the labels that stay for those ids (another model's naming, a newer correction) are
 * joined again, as the views would have stored them without the deleted ones.
 */
async function removeLabelCopies(db: Database, where: string, params: Record<string, unknown>) {
  const ids = `SELECT prediction_id FROM labels WHERE ${where}`;
  await run(db, `ALTER TABLE labeled_predictions DELETE WHERE prediction_id IN (${ids})`, params);
  const staying = `(SELECT prediction_id, model_id, label, label_num, timestamp FROM labels
    WHERE prediction_id IN (${ids}) AND NOT (${where}))`;
  await run(db, `INSERT INTO labeled_predictions ${labelsJoinLookup(staying)}`, params);
  await run(db, `ALTER TABLE label_lookup DELETE WHERE ${where}`, params);
}

export const metricsRowCopies: MetricsRowCopies = {
  tables: {
    predictions: ['prediction_lookup', 'labeled_predictions'],
    labels: ['label_lookup', 'labeled_predictions'],
  },
  remove: (db, table, where, params) =>
    table === 'predictions'
      ? removePredictionCopies(db, where, params)
      : removeLabelCopies(db, where, params),
};
