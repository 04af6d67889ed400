import { RowBuilder, type DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { SEGMENT_LABEL_SQL } from '../drift/index.js';
import { ClickHouseQueryBuilder } from './clickhouse-query.js';
import { prom, sqlTable, timeseries } from './panels.js';
import { variableValues } from './variable-sql.js';

/**
 * A stored segment as the segment gauges label it (src/drift/segments/gauges.ts):
 * `feature:region=north`, `feature:region!other`, `feature:region!none`, a value over 128
 * characters cut and followed by a hash of the whole, so a row here and a series in Prometheus
 * read alike.
 */
const SEGMENT_LABEL = SEGMENT_LABEL_SQL;

/**
 * The selected models' stored windows that overlap the time range (as the retrain-trigger
 * annotations). A window is stored only once it has closed (end ≤ watermark − allowed lateness), so
 * its start is at least one window length in the past: a filter on the start alone kept a `1d`
 * window out of the last 6 and even 24 hours while the segment gauges showed it. A range shorter
 * than the window still misses it once the range has moved past its end: the panels say so.
 */
const SELECTED = `has(${variableValues('model')}, model_id) AND window_end >= $__fromTime AND window_start <= $__toTime`;

/**
 * Every segment of the latest stored window of each model version and segmentation overlapping the
 * time range (the windows the gauges show), most drifted first. FINAL: replays and several
 * instances write the same keys, duplicates until merges run.
 */
export const SEGMENTS_LATEST_SQL = [
  `SELECT model_id AS model, model_version AS version, window_start, ${SEGMENT_LABEL} AS segment,`,
  "  predictions, drift_share, dataset_drift, arrayStringConcat(drifted_columns, ', ') AS drifted,",
  "  arrayStringConcat(flagged_columns, ', ') AS quality_flagged",
  'FROM segment_results FINAL',
  `WHERE ${SELECTED} AND (model_id, model_version, segmentation, window_start) IN (`,
  '  SELECT model_id, model_version, segmentation, max(window_start) FROM segment_results',
  `  WHERE ${SELECTED} GROUP BY model_id, model_version, segmentation)`,
  'ORDER BY model, version, segmentation, dataset_drift DESC, drift_share DESC, segment',
].join('\n');

/** Each segment's drift share per stored window; Grafana pivots the rows into one series per segment. */
export const SEGMENT_DRIFT_SHARE_SQL = [
  `SELECT window_start AS time, concat(model_id, ' ', ${SEGMENT_LABEL}, ' version ', model_version) AS series, drift_share`,
  'FROM segment_results FINAL',
  `WHERE ${SELECTED}`,
  'ORDER BY time, series',
].join('\n');

/**
 * The declared segmentations' stored windows (src/segments/README.md): live flags from the
 * segment gauges, the latest window's detail and the history from `segment_results`.
 */
export function withSegmentPanels(board: DashboardBuilder): DashboardBuilder {
  const models = 'model=~"$model"';
  return board
    .withRow(new RowBuilder('Segments (declared segmentations, stored windows)'))
    .withPanel(
      timeseries(
        {
          title: 'Segment drift share',
          description:
            "modelwatch_segment_drift_share: the share of drifted features of each segment in the latest stored window of each declared segmentation (policy segments.evaluate / evaluation_windows); dataset drift at or above the model's threshold (default 0.5). A segment that leaves the latest window loses its series.",
          unit: 'percentunit',
        },
        [prom(`max by (model, segment) (modelwatch_segment_drift_share{${models}})`, '{{model}} {{segment}}')],
        { min: 0 },
      ),
    )
    .withPanel(
      timeseries(
        {
          title: 'Flagged quality columns by segment',
          description:
            "modelwatch_segment_quality_flagged_columns: feature columns breaking a threshold of the policy's quality section in each segment's latest stored window.",
          unit: 'none',
        },
        [
          prom(
            `max by (model, segment) (modelwatch_segment_quality_flagged_columns{${models}})`,
            '{{model}} {{segment}}',
          ),
        ],
        { min: 0 },
      ),
    )
    .withPanel(
      sqlTable(
        {
          title: 'Latest stored window by segment',
          description:
            'Every segment of the latest stored window of each model version and segmentation that overlaps the time range (segment_results): predictions, drift share (features), dataset drift, the drifted columns (features, prediction, score) and the features with a data-quality flag. Most drifted first. A window is stored once it has closed, so with 1d or 1w evaluation_windows choose a range at least that long.',
          unit: 'none',
          width: 24,
          height: 10,
        },
        new ClickHouseQueryBuilder(SEGMENTS_LATEST_SQL, 'table'),
      ),
    )
    .withPanel(
      timeseries(
        {
          title: 'Drift share by segment over stored windows',
          description:
            "Share of drifted features of each segment in each stored window overlapping the time range (segment_results), at the window's start. Dataset drift when at or above the model's threshold (default 0.5).",
          unit: 'percentunit',
          width: 24,
          height: 10,
        },
        [new ClickHouseQueryBuilder(SEGMENT_DRIFT_SHARE_SQL)],
        { min: 0, displayName: '${__field.labels.series}' },
      ),
    );
}
