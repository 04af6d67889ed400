import type { Builder, Dataquery } from '@grafana/grafana-foundation-sdk/cog';
import {
  BigValueColorMode,
  BigValueGraphMode,
  GraphDrawStyle,
  LegendDisplayMode,
  LegendPlacement,
  ReduceDataOptionsBuilder,
  SortOrder,
  StackingConfigBuilder,
  StackingMode,
  TooltipDisplayMode,
  VizLegendOptionsBuilder,
  VizTooltipOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import {
  MappingType,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  type Threshold,
  type ValueMapping,
} from '@grafana/grafana-foundation-sdk/dashboard';
import {
  DataqueryBuilder,
  PromQueryFormat,
  QueryEditorMode,
} from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanelBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as StateTimelinePanelBuilder } from '@grafana/grafana-foundation-sdk/statetimeline';
import { PanelBuilder as TablePanelBuilder } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import { PROMETHEUS } from './datasources.js';

export interface PanelSpec {
  title: string;
  /** Shown as the panel's (i) tooltip: what the numbers mean and where they come from. */
  description: string;
  /** A Grafana unit id, e.g. `ops`, `s`, `bytes`, `percentunit`, `short`. */
  unit: string;
  /** Columns of the 24-column grid. @default 12 */
  width?: number;
  /** Grid rows (30 px each). @default 8 */
  height?: number;
}

/** A PromQL range query in code mode; `legend` is a Grafana legend format like `{{topic}}`. */
export function prom(expr: string, legend: string): DataqueryBuilder {
  return new DataqueryBuilder()
    .datasource(PROMETHEUS)
    .editorMode(QueryEditorMode.Code)
    .expr(expr)
    .legendFormat(legend)
    .range();
}

/** The current value of each series, as table rows (one per label set). */
export function promInstantTable(expr: string): DataqueryBuilder {
  return new DataqueryBuilder()
    .datasource(PROMETHEUS)
    .editorMode(QueryEditorMode.Code)
    .expr(expr)
    .format(PromQueryFormat.Table)
    .instant();
}

function legend(): VizLegendOptionsBuilder {
  return new VizLegendOptionsBuilder()
    .showLegend(true)
    .displayMode(LegendDisplayMode.List)
    .placement(LegendPlacement.Bottom)
    .calcs([]);
}

function tooltip(): VizTooltipOptionsBuilder {
  return new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi).sort(SortOrder.Descending);
}

export function timeseries(
  spec: PanelSpec,
  targets: Builder<Dataquery>[],
  /** bars: stacked bars, for counts per fixed bucket (hour) rather than a continuous rate. */
  options: { bars?: boolean; min?: number; displayName?: string } = {},
): TimeseriesPanelBuilder {
  const panel = new TimeseriesPanelBuilder()
    .title(spec.title)
    .description(spec.description)
    .unit(spec.unit)
    .span(spec.width ?? 12)
    .height(spec.height ?? 8)
    .targets(targets)
    .legend(legend())
    .tooltip(tooltip())
    .drawStyle(options.bars ? GraphDrawStyle.Bars : GraphDrawStyle.Line)
    .fillOpacity(options.bars ? 80 : 10)
    .lineWidth(1);
  if (options.bars) panel.stacking(new StackingConfigBuilder().mode(StackingMode.Normal).group('A'));
  if (options.min !== undefined) panel.min(options.min);
  if (options.displayName !== undefined) panel.displayName(options.displayName);
  return panel;
}

/** 0 → "no drift" (green), 1 → "drift" (red): the values of a 0/1 flag gauge. */
export const DRIFT_FLAG_MAPPINGS: ValueMapping[] = [
  {
    type: MappingType.ValueToText,
    options: {
      '0': { text: 'no drift', color: 'green', index: 0 },
      '1': { text: 'drift', color: 'red', index: 1 },
    },
  },
];

/** One colour for any value: a figure that is neither good nor bad (a time, a mapped flag). */
export const NEUTRAL_THRESHOLDS: Threshold[] = [{ value: null, color: 'blue' }];

/**
 * A stat with its background coloured by `thresholds` (a mapping's colour wins). Without them
 * Grafana applies its default, green turning red at 80: a timestamp was always red, 3 broken chains
 * green.
 */
export function stat(
  spec: PanelSpec,
  targets: Builder<Dataquery>[],
  mappings: ValueMapping[],
  thresholds: Threshold[] = NEUTRAL_THRESHOLDS,
): StatPanelBuilder {
  return new StatPanelBuilder()
    .title(spec.title)
    .description(spec.description)
    .unit(spec.unit)
    .span(spec.width ?? 12)
    .height(spec.height ?? 8)
    .targets(targets)
    .mappings(mappings)
    .thresholds(new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(thresholds))
    .reduceOptions(new ReduceDataOptionsBuilder().values(false).calcs(['lastNotNull']))
    .colorMode(BigValueColorMode.Background)
    .graphMode(BigValueGraphMode.None);
}

export function stateTimeline(
  spec: PanelSpec,
  targets: Builder<Dataquery>[],
  mappings: ValueMapping[],
): StateTimelinePanelBuilder {
  return new StateTimelinePanelBuilder()
    .title(spec.title)
    .description(spec.description)
    .unit(spec.unit)
    .span(spec.width ?? 12)
    .height(spec.height ?? 8)
    .targets(targets)
    .mappings(mappings)
    .legend(legend())
    .tooltip(tooltip());
}

/**
 * A table of instant queries' rows, keeping the named label columns (in that order) and each
 * query's value, renamed to `valueNames` (one per target, in order). Several targets are merged
 * into one row per label set; a label set one query lacks leaves that value empty.
 */
export function labelTable(
  spec: PanelSpec,
  targets: Builder<Dataquery>[],
  columns: string[],
  valueNames: string | readonly string[],
): TablePanelBuilder {
  const names = typeof valueNames === 'string' ? [valueNames] : valueNames;
  if (names.length !== targets.length) throw new Error(`${spec.title}: one value name per target`);
  // Grafana names a lone query's value column `Value`, merged ones `Value #<refId>` (A, B, …).
  const values = names.length === 1 ? ['Value'] : names.map((_, i) => `Value #${String.fromCharCode(65 + i)}`);
  const indexByName: Record<string, number> = {};
  [...columns, ...values].forEach((name, i) => (indexByName[name] = i));
  const renameByName: Record<string, string> = {};
  values.forEach((value, i) => (renameByName[value] = names[i]!));
  const panel = new TablePanelBuilder()
    .title(spec.title)
    .description(spec.description)
    .unit(spec.unit)
    .span(spec.width ?? 12)
    .height(spec.height ?? 8)
    .targets(targets);
  if (names.length > 1) panel.withTransformation({ id: 'merge', options: {} });
  return panel.withTransformation({
    id: 'organize',
    options: {
      // Prometheus adds Time, __name__, instance and job columns the reader does not need.
      excludeByName: { Time: true, __name__: true, instance: true, job: true },
      indexByName,
      renameByName,
    },
  });
}

/** A table of a ClickHouse table-format query, columns as the query names them. */
export function sqlTable(spec: PanelSpec, target: Builder<Dataquery>): TablePanelBuilder {
  return new TablePanelBuilder()
    .title(spec.title)
    .description(spec.description)
    .unit(spec.unit)
    .span(spec.width ?? 12)
    .height(spec.height ?? 8)
    .targets([target]);
}
