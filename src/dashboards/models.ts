import {
  AnnotationQueryBuilder,
  QueryVariableBuilder,
  RowBuilder,
  VariableRefresh,
  VariableSort,
  type DashboardBuilder,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { baseDashboard } from './base.js';
import { ClickHouseQueryBuilder } from './clickhouse-query.js';
import { CLICKHOUSE, PROMETHEUS } from './datasources.js';
import { prom, timeseries } from './panels.js';
import { variableValue, variableValues } from './variable-sql.js';

export const MODELS_UID = 'modelwatch-models';

const MODEL = 'model="$model", version=~"$version"';

/**
 * The quality gauges' label counts: `labeled` (labels in the hour) and `label_coverage` (their
 * share of the predictions), not quality figures on the ratios' 0-1 scale.
 */
const LABEL_METRICS = 'labeled|label_coverage';

/**
 * Hourly counts by event time, straight from the stored rows. FINAL because redelivered events
 * are duplicate rows until merges run; the variables come percent-encoded (variable-sql.ts).
 * Grafana pivots the (time, model_version, value) rows into one series per version.
 */
function hourlySql(valueExpr: string): string {
  return [
    `SELECT toStartOfHour(timestamp) AS time, model_version, ${valueExpr}`,
    'FROM predictions FINAL',
    `WHERE model_id = ${variableValue('model')} AND has(${variableValues('version')}, model_version)`,
    'AND $__timeFilter(timestamp)',
    'GROUP BY time, model_version',
    'ORDER BY time, model_version',
  ].join('\n');
}

export const HOURLY_PREDICTIONS_SQL = hourlySql('count() AS predictions');
export const HOURLY_ERROR_RATE_SQL = hourlySql('countIf(is_error) / count() AS error_rate');

/**
 * The model's retrain triggers (src/triggers) as annotations: one region per trigger over the
 * evaluation window that fired, by event time, with its reason as the tag.
 */
export const RETRAIN_TRIGGERS_SQL = [
  'SELECT window_start AS time, window_end AS timeEnd,',
  "  concat(reason, ' retrain trigger, version ', model_version, ' (', trigger_id, ')') AS text, [toString(reason)] AS tags",
  'FROM retrain_triggers FINAL',
  `WHERE model_id = ${variableValue('model')}`,
  // Overlapping the range: a day-long window that began before it is shown too.
  'AND window_end >= $__fromTime AND window_start <= $__toTime',
  'ORDER BY time',
].join('\n');

/** The retrain triggers (src/triggers) as a ClickHouse annotation: one region per trigger's window. */
export function retrainTriggersAnnotation(sql: string): AnnotationQueryBuilder {
  return new AnnotationQueryBuilder()
    .name('Retrain triggers')
    .datasource(CLICKHOUSE)
    .enable(true)
    .iconColor('orange')
    .target(new ClickHouseQueryBuilder(sql, 'table'));
}

/** One model's serving and quality: live from Prometheus, hourly history from ClickHouse. */
export function modelsDashboard(): DashboardBuilder {
  const latency = [0.5, 0.95, 0.99].map((q) =>
    prom(
      `histogram_quantile(${q}, sum by (version, le) (rate(modelwatch_prediction_latency_seconds_bucket{${MODEL}}[5m])))`,
      `{{version}} p${Math.round(q * 100)}`,
    ),
  );
  return baseDashboard(
    MODELS_UID,
    'modelwatch / models',
    "One model's traffic, errors, latency and quality per version: live rates from Prometheus, hourly history from the stored predictions in ClickHouse.",
  )
    .annotation(retrainTriggersAnnotation(RETRAIN_TRIGGERS_SQL))
    .withVariable(
      new QueryVariableBuilder('model')
        .label('Model')
        .description('Models that have sent predictions (label values of modelwatch_predictions_total).')
        .datasource(PROMETHEUS)
        .query('label_values(modelwatch_predictions_total, model)')
        .definition('label_values(modelwatch_predictions_total, model)')
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc)
        .multi(false)
        .includeAll(false),
    )
    .withVariable(
      new QueryVariableBuilder('version')
        .label('Version')
        .description('Versions of the model that have sent predictions.')
        .datasource(PROMETHEUS)
        .query('label_values(modelwatch_predictions_total{model="$model"}, version)')
        .definition('label_values(modelwatch_predictions_total{model="$model"}, version)')
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc)
        .multi(true)
        .includeAll(true)
        .current({ selected: true, text: 'All', value: '$__all' }),
    )
    .withRow(new RowBuilder('Live (Prometheus)'))
    .withPanel(
      timeseries(
        {
          title: 'Predictions by version',
          description: 'Predictions stored per second (errors included), by model version.',
          unit: 'ops',
        },
        [prom(`sum by (version) (rate(modelwatch_predictions_total{${MODEL}}[5m]))`, '{{version}}')],
        { min: 0 },
      ),
    )
    .withPanel(
      timeseries(
        {
          title: 'Error rate by version',
          description: 'Share of predictions with status=error over 5 minutes, by model version.',
          unit: 'percentunit',
        },
        [
          prom(
            `sum by (version) (rate(modelwatch_prediction_errors_total{${MODEL}}[5m])) / sum by (version) (rate(modelwatch_predictions_total{${MODEL}}[5m]))`,
            '{{version}}',
          ),
        ],
        { min: 0 },
      ),
    )
    .withPanel(
      timeseries(
        {
          title: 'Serving latency p50 / p95 / p99 by version',
          description: 'Latency reported by the predictions themselves (latency_ms), over 5 minutes.',
          unit: 's',
        },
        latency,
        { min: 0 },
      ),
    )
    .withPanel(
      timeseries(
        {
          title: 'Labels by version',
          description:
            "Labels the quality figures stand on, in the same hour as 'Model quality by version': labeled predictions (left axis) and label coverage, their share of the hour's predictions (right axis). ModelwatchQualityBelowFloor asks for 30 labels. 0 while the labels have not arrived (MODELWATCH_QUALITY_LABEL_DELAY for late labels).",
          unit: 'short',
        },
        [
          prom(
            `max by (version) (modelwatch_model_quality{${MODEL}, metric="labeled"})`,
            '{{version}} labeled',
          ),
          prom(
            `max by (version) (modelwatch_model_quality{${MODEL}, metric="label_coverage"})`,
            '{{version}} coverage',
          ),
        ],
        { min: 0 },
      ).overrideByQuery('B', [
        { id: 'unit', value: 'percentunit' },
        { id: 'custom.axisPlacement', value: 'right' },
        { id: 'max', value: 1 },
      ]),
    )
    .withPanel(
      timeseries(
        {
          title: 'Model quality by version',
          description:
            'modelwatch_model_quality: quality over the last complete hour (MODELWATCH_QUALITY_LABEL_DELAY earlier when set), by version and metric; the label count and coverage are in "Labels by version". Empty until predictions have labels. Regression errors (mae, rmse in target units, mape) share the axis with the 0-1 figures.',
          unit: 'short',
        },
        [
          prom(
            `max by (version, metric) (modelwatch_model_quality{${MODEL}, metric!~"${LABEL_METRICS}"})`,
            '{{version}} {{metric}}',
          ),
        ],
      ).noValue('no labeled predictions yet'),
    )
    .withPanel(
      timeseries(
        {
          title: 'Estimated quality by version (CBPE)',
          description:
            "modelwatch_estimated_quality: CBPE estimate (src/performance-estimation) over the last complete hour by wall clock, from scores alone, before labels arrive. The realized quality beside it covers the same hour only while MODELWATCH_QUALITY_LABEL_DELAY is 0; with a delay it is that much older. Binary classifiers whose drift reference is a time range.",
          unit: 'short',
        },
        [
          prom(
            `max by (version, metric) (modelwatch_estimated_quality{${MODEL}})`,
            '{{version}} {{metric}} (estimated)',
          ),
        ],
      ).noValue('no binary version with a time-range reference'),
    )
    .withPanel(
      timeseries(
        {
          title: 'Loss changes by version (Page-Hinkley)',
          description:
            "modelwatch_loss_changes: Page-Hinkley detections in the per-prediction loss over the model's latest one to two change_detection windows (their start on a fixed grid; src/change-detection), and the mean loss since the latest one. Models with a change_detection policy section.",
          unit: 'short',
          width: 24,
        },
        [
          prom(`max by (version) (modelwatch_loss_changes{${MODEL}})`, '{{version}} changes'),
          prom(`max by (version) (modelwatch_loss_mean_since_change{${MODEL}})`, '{{version}} mean loss since'),
        ],
      ).noValue('no change_detection section in the policy'),
    )
    .withRow(new RowBuilder('Stored predictions (ClickHouse, by event time)'))
    .withPanel(
      timeseries(
        {
          title: 'Predictions per hour by version',
          description: 'Stored predictions per event-time hour (UTC), deduplicated (FINAL).',
          unit: 'short',
        },
        [new ClickHouseQueryBuilder(HOURLY_PREDICTIONS_SQL)],
        { bars: true, min: 0, displayName: '${__field.labels.model_version}' },
      ),
    )
    .withPanel(
      timeseries(
        {
          title: 'Error rate per hour by version',
          description:
            'Share of stored predictions with status=error per event-time hour (UTC), deduplicated (FINAL).',
          unit: 'percentunit',
        },
        [new ClickHouseQueryBuilder(HOURLY_ERROR_RATE_SQL)],
        { min: 0, displayName: '${__field.labels.model_version}' },
      ),
    );
}
