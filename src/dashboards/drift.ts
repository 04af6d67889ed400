import {
  QueryVariableBuilder,
  RowBuilder,
  VariableRefresh,
  VariableSort,
  type DashboardBuilder,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { baseDashboard } from './base.js';
import { PROMETHEUS } from './datasources.js';
import { withSegmentPanels } from './drift-segments.js';
import { retrainTriggersAnnotation } from './models.js';
import { variableValues } from './variable-sql.js';
import {
  DRIFT_FLAG_MAPPINGS,
  labelTable,
  prom,
  promInstantTable,
  stat,
  stateTimeline,
  timeseries,
} from './panels.js';

export const DRIFT_UID = 'modelwatch-drift';

/** The selected models' retrain triggers (the model variable is multi-valued here). */
export const DRIFT_TRIGGERS_SQL = [
  'SELECT window_start AS time, window_end AS timeEnd,',
  "  concat(model_id, ': ', reason, ' retrain trigger, version ', model_version, ' (', trigger_id, ')') AS text, [toString(reason), model_id] AS tags",
  'FROM retrain_triggers FINAL',
  `WHERE has(${variableValues('model')}, model_id)`,
  // Overlapping the range: a day-long window that began before it is shown too.
  'AND window_end >= $__fromTime AND window_start <= $__toTime',
  'ORDER BY time',
].join('\n');

function multiVariable(
  name: string,
  label: string,
  query: string,
  description: string,
): QueryVariableBuilder {
  return new QueryVariableBuilder(name)
    .label(label)
    .description(description)
    .datasource(PROMETHEUS)
    .query(query)
    .definition(query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .current({ selected: true, text: 'All', value: '$__all' });
}

/**
 * Drift of each model's latest evaluated window (SPEC 5), as exported by the drift gauges: the
 * dataset-level flag and every column's statistic; then the declared segments' stored windows.
 */
export function driftDashboard(): DashboardBuilder {
  const models = 'model=~"$model"';
  const columns = `${models}, column=~"$column"`;
  const board = baseDashboard(
    DRIFT_UID,
    'modelwatch / drift',
    "Data drift of each model's latest evaluated window: dataset drift and the statistic of every column, with the retrain triggers that followed.",
  )
    .annotation(retrainTriggersAnnotation(DRIFT_TRIGGERS_SQL))
    .withVariable(
      multiVariable(
        'model',
        'Model',
        'label_values(modelwatch_dataset_drift, model)',
        'Models with an evaluated drift window.',
      ),
    )
    .withVariable(
      multiVariable(
        'column',
        'Column',
        `label_values(modelwatch_drift_statistic{${models}}, column)`,
        'Columns (features, prediction, score, label) of the selected models; All also keeps the data-quality rows of columns with no drift statistic (a new column, or one missing from the window).',
      ).allValue('.*'),
    )
    .withRow(new RowBuilder('Dataset drift'))
    .withPanel(
      stat(
        {
          title: 'Dataset drift now',
          description:
            "Whether the latest evaluated window has dataset drift: the share of drifted feature columns is at or above the model's threshold (default 0.5).",
          unit: 'none',
          width: 6,
        },
        [prom(`max by (model) (modelwatch_dataset_drift{${models}})`, '{{model}}').instant()],
        DRIFT_FLAG_MAPPINGS,
      ),
    )
    .withPanel(
      stat(
        {
          title: 'Latest drift window end',
          description:
            "End of each model's latest evaluated drift window (modelwatch_drift_window_end_seconds, event time): the flags and statistics here are of the window ending then. Live traffic keeps it within one evaluation window plus the allowed lateness of now (1h and 5m by default); replayed traffic shows its own time. ModelwatchDriftStale fires when it has not moved for 3 hours while predictions arrive.",
          unit: 'dateTimeAsIso',
          width: 6,
        },
        [
          prom(
            `max by (model) (modelwatch_drift_window_end_seconds{${models}}) * 1000`,
            '{{model}}',
          ).instant(),
        ],
        [],
      )
        .noValue('no evaluated window yet'),
    )
    .withPanel(
      stateTimeline(
        {
          title: 'Dataset drift over time',
          description: 'The dataset drift flag of each model as evaluation windows close.',
          unit: 'none',
          width: 12,
        },
        [prom(`max by (model) (modelwatch_dataset_drift{${models}})`, '{{model}}')],
        DRIFT_FLAG_MAPPINGS,
      ),
    )
    .withRow(new RowBuilder('Column drift and data quality'))
    .withPanel(
      timeseries(
        {
          title: 'Drift statistic by column',
          description:
            'Statistic of each column in the latest evaluated window, labelled with its method. Scales differ by method (ks D and jensenshannon in [0, 1]; psi, wasserstein and chi2 unbounded; chi2 is +Inf when a category is absent from the reference).',
          unit: 'short',
          width: 24,
          height: 10,
        },
        [
          prom(
            `max by (model, column, method) (modelwatch_drift_statistic{${columns}})`,
            '{{model}} {{column}} ({{method}})',
          ),
        ],
      ),
    )
    .withPanel(
      labelTable(
        {
          title: 'Latest drift statistic by column',
          description:
            'The current value of every column statistic, one row per model, column and method, with the p-value of the tests (ks, chi2: drift when under the threshold, default 0.05; empty for the distance methods, which compare the statistic itself with theirs).',
          unit: 'short',
          width: 12,
          height: 10,
        },
        [
          promInstantTable(`max by (model, column, method) (modelwatch_drift_statistic{${columns}})`),
          promInstantTable(`min by (model, column, method) (modelwatch_drift_p_value{${columns}})`),
        ],
        ['model', 'column', 'method'],
        ['statistic', 'p_value'],
      ),
    )
    .withPanel(
      timeseries(
        {
          title: 'Retrain triggers',
          description:
            'Retrain triggers published in the last hour, by model and reason (drift, performance, quality, segment or loss_change).',
          unit: 'short',
          width: 12,
          height: 10,
        },
        [
          prom(
            `sum by (model, reason) (increase(modelwatch_retrain_triggers_total{${models}}[1h]))`,
            '{{model}} {{reason}}',
          ),
        ],
        { min: 0 },
      ),
    )
    .withPanel(
      timeseries(
        {
          title: 'Flagged data quality by column',
          description:
            "1 when a column of the latest evaluated window broke a threshold of the policy's quality section (missing, wrong type, unseen, out of range, new or gone column; src/drift/quality).",
          unit: 'none',
          width: 12,
          height: 10,
        },
        [
          prom(
            `max by (model, column) (modelwatch_data_quality{${columns}, check="flagged"})`,
            '{{model}} {{column}}',
          ),
        ],
        { min: 0 },
      ),
    )
    .withPanel(
      labelTable(
        {
          title: 'Latest data quality by column',
          description:
            'Every check of every feature column in the latest evaluated window: missing_rate, wrong_type_share, unseen_share, out_of_range_share (shares 0-1), flagged, new_column, column_missing.',
          unit: 'short',
          width: 12,
          height: 10,
        },
        [promInstantTable(`max by (model, column, check) (modelwatch_data_quality{${columns}})`)],
        ['model', 'column', 'check'],
        'value',
      ),
    );
  return withSegmentPanels(board);
}
