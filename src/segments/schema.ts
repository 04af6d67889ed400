/**
 * Migration 26 (in drift's 20-29 range; drift registers it; the collectors' migration 11 adds
 * the column too, which they write whether or not drift runs): prediction tags. A prediction may
 * carry `tags`, a flat object of texts (`{"region": "north", "channel": "web"}`), kept in
 * `predictions.tags` so that `tag:<name>` segments can be read. ClickHouse extracts them from the
 * raw event the collectors already pass through (`predictions_input.e`): a number becomes its
 * text, any other shape an empty map. The view's query is migration 3's plus the tags.
 */
import type { Migration } from '../platform/clickhouse/index.js';

export const segmentMigrations: Migration[] = [
  {
    version: 26,
    name: 'predictions.tags: prediction tags for tag segments',
    statements: ({ onCluster }) => [
      `ALTER TABLE predictions${onCluster} ADD COLUMN IF NOT EXISTS tags Map(String, String) DEFAULT map()`,
      `ALTER TABLE predictions_input_mv${onCluster} MODIFY QUERY
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
        req AS request_id,
        JSONExtract(e, 'tags', 'Map(String, String)') AS tags
      FROM (SELECT *, JSONExtractKeysAndValuesRaw(e, 'features') AS pairs FROM predictions_input)`,
    ],
  },
];
