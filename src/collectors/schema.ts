import { fewerMerges, type Migration } from '../platform/clickhouse/index.js';

/**
 * Ingest tables. Effectively-once reads: every table is a ReplacingMergeTree whose sorting key
 * ends in the event's id, so a redelivered event (same id, same event time) collapses with its
 * first copy; every read the API makes uses FINAL (see README, "Delivery").
 */
export const collectorMigrations: Migration[] = [
  {
    version: 1,
    name: 'ingest tables: predictions, labels, access_log',
    statements: ({ onCluster, engine }) => [
      `CREATE TABLE IF NOT EXISTS predictions${onCluster} (
        model_id LowCardinality(String),
        model_version LowCardinality(String),
        prediction_id String,
        timestamp DateTime64(3, 'UTC'),
        features_num Map(String, Float64),
        features_str Map(String, String),
        prediction String,
        prediction_num Nullable(Float64),
        score Nullable(Float64),
        probabilities Map(String, Float64),
        latency_ms Nullable(Float64),
        is_error Bool,
        entity_id String,
        request_id String,
        ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
      ) ENGINE = ${engine('ReplacingMergeTree')}
      PARTITION BY toYYYYMM(timestamp)
      ORDER BY (model_id, timestamp, prediction_id)`,
      // The label with the latest event time wins, so a corrected label replaces the first one.
      `CREATE TABLE IF NOT EXISTS labels${onCluster} (
        prediction_id String,
        model_id LowCardinality(String),
        label String,
        label_num Nullable(Float64),
        timestamp DateTime64(3, 'UTC'),
        ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
      ) ENGINE = ${engine('ReplacingMergeTree', 'timestamp')}
      ORDER BY prediction_id`,
      `CREATE TABLE IF NOT EXISTS access_log${onCluster} (
        event_id String,
        timestamp DateTime64(3, 'UTC'),
        principal String,
        action LowCardinality(String),
        resource_type LowCardinality(String),
        resource_id String,
        model_id String,
        entity_id String,
        purpose String,
        outcome Enum8('allowed' = 1, 'denied' = 2),
        source_ip String,
        ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
        INDEX idx_entity entity_id TYPE bloom_filter GRANULARITY 4,
        INDEX idx_model model_id TYPE bloom_filter GRANULARITY 4
      ) ENGINE = ${engine('ReplacingMergeTree')}
      PARTITION BY toYYYYMM(timestamp)
      ORDER BY (principal, timestamp, event_id)`,
    ],
  },
  {
    version: 3,
    name: 'predictions_input: raw events reshaped into predictions by ClickHouse',
    // Collectors passed each validated event's original JSON (`e`) through untouched, beside the
    // scalar fields JavaScript already read; ClickHouse's JSON functions split the features by
    // type. Since issue 17 they write `predictions` directly as RowBinary (rows.ts), which costs
    // less on both sides (README, "Throughput"). Nothing writes here any more; the table and view
    // stay so that an instance of an earlier release still stores its rows during a rolling
    // upgrade (without them such an instance stalls, retrying); a later release can drop them.
    statements: ({ onCluster }) => [
      `CREATE TABLE IF NOT EXISTS predictions_input${onCluster} (
        ${PREDICTION_INPUT_COLUMNS}
      ) ENGINE = Null`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS predictions_input_mv${onCluster} TO predictions AS
      SELECT
        m AS model_id,
        mv AS model_version,
        id AS prediction_id,
        fromUnixTimestamp64Milli(ts, 'UTC') AS timestamp,
        CAST(arrayMap(x -> (x.1, toFloat64(x.2)), arrayFilter(x -> match(x.2, '^-?[0-9]'), pairs)),
             'Map(String, Float64)') AS features_num,
        CAST(arrayMap(x -> (x.1, if(startsWith(x.2, '"'), JSONExtractString(x.2), x.2)),
                      arrayFilter(x -> startsWith(x.2, '"') OR x.2 IN ('true', 'false'), pairs)),
             'Map(String, String)') AS features_str,
        p AS prediction,
        pn AS prediction_num,
        s AS score,
        if(hp, JSONExtract(e, 'probabilities', 'Map(String, Float64)'), map()) AS probabilities,
        l AS latency_ms,
        err AS is_error,
        ent AS entity_id,
        req AS request_id
      FROM (SELECT *, JSONExtractKeysAndValuesRaw(e, 'features') AS pairs FROM predictions_input)`,
    ],
  },
  {
    version: 4,
    name: 'labels keyed by (prediction_id, model_id): two models sharing a prediction id keep a label each',
    // ORDER BY cannot be changed in place, so the rows are copied into a table with the new key
    // and the two tables swapped (EXCHANGE is atomic). Collectors start only after migrations.
    // Instances migrating at once share no lock: one whose check came before the other's EXCHANGE
    // swaps the tables back. The old table is then dropped only once `labels` has the new key,
    // and a run that ends without it fails (the service retries it; nothing is recorded), so the
    // swap is done again from the kept copy. `RENAME labels TO labels_old, labels_keyed TO labels`
    // was not taken: a several-table RENAME is not atomic, and one repeated after the other
    // instance dropped labels_old renamed the keyed table away and left no `labels`.
    statements: ({ onCluster, engine }) => {
      const done = `SELECT sorting_key = 'prediction_id, model_id' FROM system.tables WHERE database = currentDatabase() AND name = 'labels'`;
      const notDone = `SELECT count() = 0 FROM system.tables WHERE database = currentDatabase() AND name = 'labels' AND sorting_key = 'prediction_id, model_id'`;
      return [
        {
          query: `CREATE TABLE IF NOT EXISTS labels_keyed${onCluster} (
            prediction_id String,
            model_id LowCardinality(String),
            label String,
            label_num Nullable(Float64),
            timestamp DateTime64(3, 'UTC'),
            ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
          ) ENGINE = ${engine('ReplacingMergeTree', 'timestamp')}
          ORDER BY (prediction_id, model_id)`,
          unless: done,
        },
        // Rerun after a crash, the copy repeats; the copies collapse (same key and version).
        {
          query: `INSERT INTO labels_keyed (prediction_id, model_id, label, label_num, timestamp, ingested_at)
            SELECT prediction_id, model_id, label, label_num, timestamp, ingested_at FROM labels`,
          unless: done,
        },
        { query: `EXCHANGE TABLES labels AND labels_keyed${onCluster}`, unless: done },
        // The old table, its rows copied; not the keyed copy that a second EXCHANGE swapped back.
        { query: `DROP TABLE IF EXISTS labels_keyed${onCluster}`, unless: notDone },
        {
          query: `SELECT throwIf(1, 'labels is not keyed by (prediction_id, model_id) after its EXCHANGE: another instance swapped it back; migration 4 runs again')`,
          unless: done,
        },
      ];
    },
  },
  {
    version: 7,
    name: 'predictions: bloom-filter index on prediction_id (provenance lookup by id)',
    // The sorting key starts with model_id, so a lookup by id alone (GET /predictions/:id/provenance)
    // read every granule. One filter per granule (GRANULARITY 1): a hit reads 8,192 rows rather than
    // four granules' worth of wide feature maps. Existing parts get it by a background mutation.
    // Safe under FINAL (the engine uses skip indexes with FINAL by default): prediction_id is in
    // the sorting key, so every version of a row matches or none does.
    statements: ({ onCluster }) => [
      `ALTER TABLE predictions${onCluster} ADD INDEX IF NOT EXISTS idx_prediction_id prediction_id TYPE bloom_filter(0.01) GRANULARITY 1`,
      `ALTER TABLE predictions${onCluster} MATERIALIZE INDEX idx_prediction_id`,
    ],
  },
  {
    version: 8,
    name: 'predictions: every merge vertical (column by column)',
    // A horizontal merge reads a block of every column of every part at once; a prediction row
    // with its feature maps is ~1 KB, and a catch-up after an outage merges many small parts at a
    // time. The default goes vertical only from 131,072 rows, above most of a catch-up's merges.
    statements: ({ onCluster }) => [
      `ALTER TABLE predictions${onCluster} MODIFY SETTING vertical_merge_algorithm_min_rows_to_activate = 1`,
    ],
  },
  {
    version: 9,
    name: 'predictions: fewer merges (each row rewritten fewer times), in smaller blocks',
    // Fewer merges are wider ones: a vertical merge holds a block of the column it gathers from
    // every part it merges, and a block of the feature maps is ~10 MB at 8,192 ~1 KB rows. At 20
    // parts a merge that raised the service's peak RSS by ~75 MB (`bench ingest --rate 30000
    // --seconds 60`, 3 pairs: 1,065–1,089 MB against 993–1,008 with the default merges); blocks
    // of 2,048 rows gave it back (958–978 MB) and kept most of the CPU saved.
    statements: ({ onCluster }) => [
      fewerMerges('predictions', onCluster),
      `ALTER TABLE predictions${onCluster} MODIFY SETTING merge_max_block_size = 2048`,
    ],
  },
  {
    version: 10,
    name: 'predictions: feature and class names as LowCardinality map keys (merges in less memory)',
    // A 4,000-row insert is one granule, and a vertical merge decompresses that granule's block of
    // the column it gathers from each part it merges: ~7 MB a part for the feature maps, whose
    // names are repeated in every row. As dictionary indices they are a fraction of that
    // (`bench ingest --rate 30000 --seconds 60`: merges' peak 145–169 against 246–262 MB, the
    // service's 850–888 against 1,004–1,010 MB). Existing parts are rewritten by a background
    // mutation; reads see the new type at once (the queries that return a key cast it to String).
    // That mutation left a wide part with skip indexes that exclude nothing (chdb 3.4: after it a
    // 300k-row part's bloom filter selected 37 of 37 granules for one id, and MATERIALIZE INDEX
    // alone did not mend it), so each index the table has by then is cleared and built again
    // (test/integration/provenance-index.test.ts upgrades a table across this migration).
    statements: ({ onCluster }) => [
      `ALTER TABLE predictions${onCluster}
        MODIFY COLUMN features_num Map(LowCardinality(String), Float64),
        MODIFY COLUMN features_str Map(LowCardinality(String), String),
        MODIFY COLUMN probabilities Map(LowCardinality(String), Float64)`,
      ...PREDICTION_INDEXES.map((index) => ({
        query: `ALTER TABLE predictions${onCluster} CLEAR INDEX ${index}, MATERIALIZE INDEX ${index}`,
        unless: `SELECT count() = 0 FROM system.data_skipping_indices
          WHERE database = currentDatabase() AND table = 'predictions' AND name = '${index}'`,
      })),
    ],
  },
  {
    version: 11,
    name: 'predictions.tags: written by the collectors, so created here too',
    // Drift's migration 26 (src/segments/schema.ts) added it, but the collectors write it on
    // every insert (rows.ts): a service built without drift stalled on NO_SUCH_COLUMN, retrying.
    // The same statement as 26's, so whichever runs second changes nothing.
    statements: ({ onCluster }) => [
      `ALTER TABLE predictions${onCluster} ADD COLUMN IF NOT EXISTS tags Map(String, String) DEFAULT map()`,
    ],
  },
];

/** Skip indexes on `predictions`: this capability's (migration 7) and shadow's (its `ingested_at`). */
const PREDICTION_INDEXES = ['idx_prediction_id', 'idx_ingested_at'];

/** Columns of `predictions_input`, in the order earlier releases wrote them. */
const PREDICTION_INPUT_COLUMNS = `ts Int64, id String, m String, mv String, p String, pn Nullable(Float64), s Nullable(Float64),
        l Nullable(Float64), err Bool, ent String, req String, hp Bool, e String`;
