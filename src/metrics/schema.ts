import { fewerMerges, type Migration } from '../platform/clickhouse/index.js';
import { cacheMigrations } from './cache-schema.js';

/**
 * The pre-joined labeled table (issue 17): one row per labeled prediction, kept by views on both
 * sides so the metrics route never joins the month's predictions with the labels at read time.
 * See README, "Rollups".
 *
 * - `prediction_lookup`: the label-side view looks predictions up by id here (sorted by id, small
 *   granules), because `predictions` is sorted by time and a lookup there reads every id.
 * - `label_lookup`: the labels again, narrow, in small granules, written by a view on `labels`.
 *   The prediction-side view looks its block's ids up here: a label stored before its
 *   prediction, or a prediction id a model uses again at another event time. Not `labels`
 *   itself, so a predictions insert never fails on the labels table (detached, or refusing).
 * - `labeled_predictions`: ReplacingMergeTree on the prediction's key, versioned by the label's
 *   rank, so the winning label (SPEC 3: its own model's label over an unnamed one, then the
 *   latest event time) is what FINAL keeps, whichever side wrote last.
 * - A label and its prediction inserted at the same moment can each miss the other (each view
 *   looks before the other's rows are committed): reads first sweep the labels stored since the
 *   last sweep had not seen (`labeled_sweeps`) into the table (`label-sweep.ts`).
 */

/**
 * The joins' table aliases, quoted with a `$` so that no database can have their name
 * (MODELWATCH_CLICKHOUSE_DATABASE is a plain identifier). A view's tables are stored qualified
 * with the database (`p.labels` in a database named `p`), and ClickHouse resolves a qualifier
 * that matches an alias in scope as that alias: with `p` as the alias, migration 50 failed there.
 */
const P = '`p$`';
const L = '`l$`';

/** Rank of a label (`l` its alias): named over unnamed, then later event time; 2^62 keeps the two apart. */
export const labelRank = (l: string) =>
  `toUInt64(${l}.model_id != '') * 4611686018427387904 + toUInt64(toUnixTimestamp64Milli(${l}.timestamp) + 4000000000000)`;

const LOOKUP_COLUMNS = 'prediction_id, model_id, model_version, timestamp, prediction, prediction_num, score';
const LABEL_COLUMNS = 'prediction_id, model_id, label, label_num, timestamp';

/**
 * Rows of `labeled_predictions` from predictions `P` and labels `L` joined on the id; a label
 * naming another model does not apply (the caller's WHERE says `L.model_id IN ('', P.model_id)`).
 */
export const LABELED_SELECT = `SELECT ${P}.model_id AS model_id, ${P}.model_version AS model_version, ${P}.timestamp AS timestamp,
  ${P}.prediction_id AS prediction_id, ${P}.prediction AS prediction, ${P}.prediction_num AS prediction_num, ${P}.score AS score,
  ${L}.label AS label, ${L}.label_num AS label_num, ${labelRank(L)} AS label_rank`;

/**
 * Labels `L` (a subquery over `labels`-shaped rows named by `source`) joined with the lookup.
 * The lookup is read with FINAL: a prediction stored again with other content before its label
 * came has a row per copy there until a merge, and both joined rows carry the label's rank, so
 * which one `labeled_predictions` kept was chance; the raw path keeps the last one stored.
 */
export const labelsJoinLookup = (source: string) => `${LABELED_SELECT}
  FROM ${source} AS ${L}
  INNER JOIN (SELECT ${LOOKUP_COLUMNS} FROM prediction_lookup FINAL WHERE prediction_id IN (SELECT prediction_id FROM ${source})) AS ${P}
    ON ${P}.prediction_id = ${L}.prediction_id
  WHERE ${L}.model_id IN ('', ${P}.model_id)`;

/**
 * The prediction-side view's rows: the inserted predictions `P` joined with the labels stored for
 * their ids. The lookup is read with FINAL, as the raw path reads `labels`: a label corrected with
 * the same event time (the same rank) has a row per copy there until a merge, and both joined
 * rows written in one block left which one `labeled_predictions` kept to chance, so a redelivered
 * prediction could bring back the label its correction replaced.
 */
const predictionsJoinLabels = `${LABELED_SELECT}
      FROM predictions AS ${P}
      INNER JOIN (SELECT ${LABEL_COLUMNS} FROM label_lookup FINAL
                  WHERE prediction_id IN (SELECT prediction_id FROM predictions)) AS ${L}
        ON ${L}.prediction_id = ${P}.prediction_id
      WHERE ${L}.model_id IN ('', ${P}.model_id)`;

export const metricsMigrations: Migration[] = [
  {
    // 50: clear of the numbers other capabilities took (models 5/40-41, drift 20, triggers 30, audit 100).
    version: 50,
    name: 'labeled_predictions: predictions pre-joined with their labels by views on both sides',
    statements: ({ onCluster, engine }) => [
      `CREATE TABLE IF NOT EXISTS prediction_lookup${onCluster} (
        prediction_id String,
        model_id LowCardinality(String),
        model_version LowCardinality(String),
        timestamp DateTime64(3, 'UTC'),
        prediction String,
        prediction_num Nullable(Float64),
        score Nullable(Float64)
      ) ENGINE = ${engine('ReplacingMergeTree')}
      ORDER BY (prediction_id, model_id, timestamp)
      SETTINGS index_granularity = 1024`,
      `CREATE TABLE IF NOT EXISTS label_lookup${onCluster} (
        prediction_id String,
        model_id LowCardinality(String),
        label String,
        label_num Nullable(Float64),
        timestamp DateTime64(3, 'UTC')
      ) ENGINE = ${engine('ReplacingMergeTree', 'timestamp')}
      ORDER BY (prediction_id, model_id)
      SETTINGS index_granularity = 1024`,
      `CREATE TABLE IF NOT EXISTS labeled_predictions${onCluster} (
        model_id LowCardinality(String),
        model_version LowCardinality(String),
        timestamp DateTime64(3, 'UTC'),
        prediction_id String,
        prediction String,
        prediction_num Nullable(Float64),
        score Nullable(Float64),
        label String,
        label_num Nullable(Float64),
        label_rank UInt64
      ) ENGINE = ${engine('ReplacingMergeTree', 'label_rank')}
      PARTITION BY toYYYYMM(timestamp)
      ORDER BY (model_id, timestamp, prediction_id)`,
      // Sweeps done by reads: the latest is where the next one starts (less a margin).
      `CREATE TABLE IF NOT EXISTS labeled_sweeps${onCluster} (
        swept_to DateTime64(3, 'UTC'),
        -- What was committed to labels and prediction_lookup when it ran (a fingerprint): unchanged means nothing to sweep.
        parts UInt64 DEFAULT 0
      ) ENGINE = ${engine('ReplacingMergeTree', 'swept_to')}
      ORDER BY tuple()`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS prediction_lookup_mv${onCluster} TO prediction_lookup AS
      SELECT ${LOOKUP_COLUMNS} FROM predictions`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS label_lookup_mv${onCluster} TO label_lookup AS
      SELECT ${LABEL_COLUMNS} FROM labels`,
      // In a view every mention of the source table is the inserted block, so the lookups below
      // read only the block's ids.
      `CREATE MATERIALIZED VIEW IF NOT EXISTS labeled_from_predictions_mv${onCluster} TO labeled_predictions AS
      ${predictionsJoinLabels}`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS labeled_from_labels_mv${onCluster} TO labeled_predictions AS
      ${labelsJoinLookup('labels')}`,
      // Rows stored before the views existed (idempotent: a rerun after a crash writes the same rows).
      `INSERT INTO prediction_lookup SELECT ${LOOKUP_COLUMNS} FROM predictions`,
      `INSERT INTO label_lookup SELECT ${LABEL_COLUMNS} FROM labels`,
      `INSERT INTO labeled_predictions ${labelsJoinLookup('(SELECT * FROM labels)')}`,
      // Everything stored so far is joined: the first read sweeps only what comes after.
      `INSERT INTO labeled_sweeps (swept_to) VALUES (now64(3))`,
    ],
  },
  ...cacheMigrations,
  {
    version: 52,
    name: 'labeled_sweeps: the block ranges of the parts each sweep saw',
    statements: ({ onCluster }) => [
      `ALTER TABLE labeled_sweeps${onCluster}
         ADD COLUMN IF NOT EXISTS seen Array(Tuple(table String, partition String, min Int64, max Int64))`,
    ],
  },
  {
    version: 53,
    name: 'prediction_lookup: fewer merges (each row rewritten fewer times)',
    statements: ({ onCluster }) => [fewerMerges('prediction_lookup', onCluster)],
  },
  {
    version: 54,
    name: 'labeled_from_labels_mv: the last copy of a corrected prediction (lookup read with FINAL)',
    statements: ({ onCluster }) => [
      // Labels stored between the two statements are in parts no sweep has seen: the next read sweeps them.
      `DROP VIEW IF EXISTS labeled_from_labels_mv${onCluster}`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS labeled_from_labels_mv${onCluster} TO labeled_predictions AS
      ${labelsJoinLookup('labels')}`,
      // Rows joined before may hold an earlier copy; written again, each ties on its rank and the
      // later insert wins under FINAL. Once, at the cost of a copy of the table until merges.
      `INSERT INTO labeled_predictions ${labelsJoinLookup('(SELECT * FROM labels)')}`,
    ],
  },
  {
    version: 55,
    name: 'labeled_from_predictions_mv: the label stored last among equal ranks (label_lookup read with FINAL)',
    statements: ({ onCluster }) => [
      `DROP VIEW IF EXISTS labeled_from_predictions_mv${onCluster}`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS labeled_from_predictions_mv${onCluster} TO labeled_predictions AS
      ${predictionsJoinLabels}`,
      // Rows joined before may hold a replaced label of equal rank; the labels FINAL keeps, written
      // again, tie with them and win as the later insert. Also joins the predictions stored while
      // the view was away. Once, at the cost of a copy of the table until merges (as migration 54).
      `INSERT INTO labeled_predictions ${labelsJoinLookup('(SELECT * FROM labels FINAL)')}`,
    ],
  },
];
