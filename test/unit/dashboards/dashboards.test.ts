import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { dashboardsCommand } from '../../../src/dashboards/command.js';
import { dashboardVariables, interpolatePromQL, promVariableText } from '../../support/dashboards.js';
import { exposedMetrics } from '../../support/exposed-metrics.js';
import {
  DASHBOARDS,
  DRIFT_UID,
  GOVERNANCE_UID,
  INGEST_UID,
  MODELS_UID,
  renderDashboard,
  writeDashboards,
} from '../../../src/dashboards/index.js';

interface Target {
  refId: string;
  datasource: { type: string; uid: string };
  expr?: string;
  rawSql?: string;
  format?: unknown;
  editorType?: string;
  queryType?: string;
  pluginVersion?: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  description: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[];
  transformations?: { id: string; options: Record<string, unknown> }[];
  fieldConfig?: {
    defaults: { unit?: string; thresholds?: { steps: { value: number | null; color: string }[] } };
    overrides: { matcher: { id: string; options: unknown }; properties: { id: string; value: unknown }[] }[];
  };
}
interface Variable {
  name: string;
  query: string;
  datasource: { type: string; uid: string };
  multi: boolean;
  allValue?: string;
}
interface DashboardJson {
  uid: string;
  title: string;
  tags: string[];
  panels: Panel[];
  templating: { list?: Variable[] };
  annotations?: { list?: { target?: Target }[] };
}

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'modelwatch-dashboards-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

const UIDS = [INGEST_UID, MODELS_UID, DRIFT_UID, GOVERNANCE_UID];
const dir = tempDir();
const written = await writeDashboards(dir);
const boards = new Map(
  UIDS.map((uid) => [uid, JSON.parse(readFileSync(path.join(dir, `${uid}.json`), 'utf8')) as DashboardJson]),
);
const board = (uid: string) => boards.get(uid)!;
const targets = (d: DashboardJson) => d.panels.flatMap((p) => p.targets ?? []);
const allTargets = [...boards.values()].flatMap(targets);

/** SPEC 10 label sets (histogram series add `le`). */
const LABELS: Record<string, string[]> = {
  modelwatch_messages_total: ['topic', 'outcome'],
  modelwatch_dead_letter_total: ['topic', 'reason'],
  modelwatch_consumer_lag: ['topic', 'partition'],
  modelwatch_prediction_latency_seconds: ['model', 'version'],
  modelwatch_predictions_total: ['model', 'version'],
  modelwatch_prediction_errors_total: ['model', 'version'],
  modelwatch_drift_statistic: ['model', 'column', 'method'],
  modelwatch_drift_p_value: ['model', 'column', 'method'],
  modelwatch_drift_window_end_seconds: ['model'],
  modelwatch_dataset_drift: ['model'],
  modelwatch_model_quality: ['model', 'version', 'metric'],
  modelwatch_estimated_quality: ['model', 'version', 'metric'],
  modelwatch_retrain_triggers_total: ['model', 'reason'],
  modelwatch_data_quality: ['model', 'column', 'check'],
  modelwatch_loss_changes: ['model', 'version'],
  modelwatch_loss_mean_since_change: ['model', 'version'],
  modelwatch_segment_drift_share: ['model', 'segment'],
  modelwatch_segment_quality_flagged_columns: ['model', 'segment'],
};
const baseName = (metric: string) => metric.replace(/_(bucket|sum|count)$/, '');
const metricsIn = (expr: string) => [...expr.matchAll(/\bmodelwatch_[a-z0-9_]+/g)].map((m) => m[0]);
function labelsIn(expr: string): string[] {
  const grouped = [...expr.matchAll(/\bby \(([^)]*)\)/g)].flatMap((m) =>
    m[1]!.split(',').map((s) => s.trim()),
  );
  // Every matcher (=, !=, =~, !~), its quoted value left out: a `=` inside a value names no label.
  const matched = [...expr.matchAll(/\{([^}]*)\}/g)].flatMap((m) =>
    [...m[1]!.replace(/"(?:[^"\\]|\\.)*"/g, '""').matchAll(/(\w+)\s*(?:=~|!=|!~|=)/g)].map((l) => l[1]!),
  );
  return [...grouped, ...matched];
}

describe('modelwatch dashboards', () => {
  it('writes one file per dashboard, named by its stable uid', () => {
    expect(written.map((w) => [w.uid, path.basename(w.path), w.changed])).toEqual([
      [INGEST_UID, 'modelwatch-ingest.json', true],
      [MODELS_UID, 'modelwatch-models.json', true],
      [DRIFT_UID, 'modelwatch-drift.json', true],
      [GOVERNANCE_UID, 'modelwatch-governance.json', true],
    ]);
    for (const uid of UIDS) {
      expect(board(uid).uid).toBe(uid);
      expect(board(uid).tags).toEqual(['modelwatch']);
    }
  });

  it('has the expected panels', () => {
    const titles = (uid: string) => board(uid).panels.map((p) => `${p.type}: ${p.title}`);
    expect(titles(INGEST_UID)).toEqual([
      'row: Kafka',
      'timeseries: Messages consumed by topic and outcome',
      'timeseries: Dead letters by topic and reason',
      'timeseries: Consumer lag by partition',
      'row: ClickHouse writes',
      'timeseries: Batch write latency',
      'timeseries: Rows per batch',
      'timeseries: Batch write errors',
      'row: Process',
      'timeseries: Memory',
      'timeseries: CPU',
    ]);
    expect(titles(MODELS_UID)).toEqual([
      'row: Live (Prometheus)',
      'timeseries: Predictions by version',
      'timeseries: Error rate by version',
      'timeseries: Serving latency p50 / p95 / p99 by version',
      'timeseries: Labels by version',
      'timeseries: Model quality by version',
      'timeseries: Estimated quality by version (CBPE)',
      'timeseries: Loss changes by version (Page-Hinkley)',
      'row: Stored predictions (ClickHouse, by event time)',
      'timeseries: Predictions per hour by version',
      'timeseries: Error rate per hour by version',
    ]);
    expect(titles(DRIFT_UID)).toEqual([
      'row: Dataset drift',
      'stat: Dataset drift now',
      'stat: Latest drift window end',
      'state-timeline: Dataset drift over time',
      'row: Column drift and data quality',
      'timeseries: Drift statistic by column',
      'table: Latest drift statistic by column',
      'timeseries: Retrain triggers',
      'timeseries: Flagged data quality by column',
      'table: Latest data quality by column',
      'row: Segments (declared segmentations, stored windows)',
      'timeseries: Segment drift share',
      'timeseries: Flagged quality columns by segment',
      'table: Latest stored window by segment',
      'timeseries: Drift share by segment over stored windows',
    ]);
    expect(titles(GOVERNANCE_UID)).toEqual([
      'row: Verification',
      'stat: Audit chains',
      'stat: Broken chains',
      'stat: Since the last verification',
      'row: Activity (ClickHouse audit_events)',
      'timeseries: Audit records per hour by principal and action',
      'table: Principals and actions',
      'row: Denied access',
      'timeseries: Denied access per hour by principal',
      'table: Latest denied records',
    ]);
  });

  it('queries the brief’s expressions', () => {
    const exprs = (uid: string) => targets(board(uid)).map((t) => t.expr ?? t.rawSql);
    expect(exprs(INGEST_UID)).toEqual(
      expect.arrayContaining([
        'sum by (topic, outcome) (rate(modelwatch_messages_total[1m]))',
        'sum by (topic, reason) (rate(modelwatch_dead_letter_total[5m]))',
        'max by (topic, partition) (modelwatch_consumer_lag)',
        'histogram_quantile(0.95, sum by (le) (rate(modelwatch_insert_seconds_bucket[5m])))',
        'sum(rate(modelwatch_insert_errors_total[5m]))',
        'modelwatch_process_resident_memory_bytes',
      ]),
    );
    expect(exprs(MODELS_UID)).toEqual(
      expect.arrayContaining([
        'sum by (version) (rate(modelwatch_predictions_total{model="$model", version=~"$version"}[5m]))',
        'histogram_quantile(0.99, sum by (version, le) (rate(modelwatch_prediction_latency_seconds_bucket{model="$model", version=~"$version"}[5m])))',
        'max by (version, metric) (modelwatch_model_quality{model="$model", version=~"$version", metric!~"labeled|label_coverage"})',
        'max by (version, metric) (modelwatch_estimated_quality{model="$model", version=~"$version"})',
      ]),
    );
    expect(exprs(DRIFT_UID)).toEqual(
      expect.arrayContaining([
        'max by (model) (modelwatch_dataset_drift{model=~"$model"})',
        'max by (model, column, method) (modelwatch_drift_statistic{model=~"$model", column=~"$column"})',
      ]),
    );
  });

  it('aggregates every live series over instances (each instance exports every model’s gauges)', () => {
    // A bare gauge drew one identical line per instance under the same legend when scaled out.
    for (const uid of [MODELS_UID, DRIFT_UID])
      for (const t of targets(board(uid)).filter((t) => t.datasource.uid === 'prometheus'))
        expect(t.expr, `${uid}: ${t.expr}`).toMatch(/^(sum|max|min) by \(|^histogram_quantile\(|^time\(\) - max by \(/);
    const panel = (uid: string, title: string) => board(uid).panels.find((p) => p.title === title)!;
    expect(panel(MODELS_UID, 'Loss changes by version (Page-Hinkley)').targets!.map((t) => t.expr)).toEqual([
      'max by (version) (modelwatch_loss_changes{model="$model", version=~"$version"})',
      'max by (version) (modelwatch_loss_mean_since_change{model="$model", version=~"$version"})',
    ]);
  });

  it('keeps the label count and coverage off the quality axis, in a panel of their own', () => {
    const panel = (title: string) => board(MODELS_UID).panels.find((p) => p.title === title)!;
    // labeled is a count in the hundreds and is never null: on the 0-1 axis it flattened the
    // ratios and kept the "no labeled predictions yet" text from ever showing.
    expect(panel('Model quality by version').targets!.map((t) => t.expr)).toEqual([
      'max by (version, metric) (modelwatch_model_quality{model="$model", version=~"$version", metric!~"labeled|label_coverage"})',
    ]);
    const labels = panel('Labels by version');
    expect(labels.targets!.map((t) => [t.refId, t.expr])).toEqual([
      ['A', 'max by (version) (modelwatch_model_quality{model="$model", version=~"$version", metric="labeled"})'],
      ['B', 'max by (version) (modelwatch_model_quality{model="$model", version=~"$version", metric="label_coverage"})'],
    ]);
    expect(labels.fieldConfig!.defaults.unit).toBe('short');
    expect(labels.fieldConfig!.overrides).toEqual([
      {
        matcher: { id: 'byFrameRefID', options: 'B' },
        properties: [
          { id: 'unit', value: 'percentunit' },
          { id: 'custom.axisPlacement', value: 'right' },
          { id: 'max', value: 1 },
        ],
      },
    ]);
  });

  it('shows the p-values beside the statistics, and the column selector filters data quality too', () => {
    const panel = (title: string) => board(DRIFT_UID).panels.find((p) => p.title === title)!;
    const table = panel('Latest drift statistic by column');
    expect(table.targets!.map((t) => [t.refId, t.expr])).toEqual([
      ['A', 'max by (model, column, method) (modelwatch_drift_statistic{model=~"$model", column=~"$column"})'],
      ['B', 'min by (model, column, method) (modelwatch_drift_p_value{model=~"$model", column=~"$column"})'],
    ]);
    // One row per model, column and method: the two queries merged on their labels.
    expect(table.transformations!.map((t) => t.id)).toEqual(['merge', 'organize']);
    expect(table.transformations![1]!.options['renameByName']).toEqual({
      'Value #A': 'statistic',
      'Value #B': 'p_value',
    });
    for (const title of ['Flagged data quality by column', 'Latest data quality by column'])
      expect(panel(title).targets![0]!.expr, title).toContain('{model=~"$model", column=~"$column"');
    // All must match every column: a new column, or one missing from the window, has quality rows
    // but no drift statistic, so it is not among the variable's values.
    const column = board(DRIFT_UID).templating.list!.find((v) => v.name === 'column')!;
    expect(column.allValue).toBe('.*');
  });

  it('shows the end of the latest drift window as a time (event time: replayed traffic shows its own)', () => {
    const end = board(DRIFT_UID).panels.find((p) => p.title === 'Latest drift window end')!;
    expect(end.targets!.map((t) => t.expr)).toEqual([
      'max by (model) (modelwatch_drift_window_end_seconds{model=~"$model"}) * 1000',
    ]);
    expect(end.fieldConfig!.defaults.unit).toBe('dateTimeAsIso');
  });

  it('colours every stat by thresholds of its own (Grafana’s default is green, red from 80)', () => {
    const stats = [...boards.values()].flatMap((d) => d.panels.filter((p) => p.type === 'stat'));
    expect(stats.length).toBeGreaterThan(4);
    const steps = (title: string) =>
      stats.find((p) => p.title === title)!.fieldConfig!.defaults.thresholds?.steps.map((s) => [s.value, s.color]);
    for (const p of stats) expect(p.fieldConfig!.defaults.thresholds, p.title).toBeDefined();
    // A count of broken chains is red from the first one (3 read green under the default).
    expect(steps('Broken chains')).toEqual([
      [null, 'green'],
      [1, 'red'],
    ]);
    // Red where ModelwatchAuditVerificationStale fires, not 80 s after a healthy hourly verification.
    expect(steps('Since the last verification')).toEqual([
      [null, 'green'],
      [3 * 3600, 'red'],
    ]);
    // A time in ms is neither good nor bad (above 80 it was always red).
    expect(steps('Latest drift window end')).toEqual([[null, 'blue']]);
  });

  const promtoolMissing = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status !== 0;
  it.skipIf(promtoolMissing)('interpolates variables as Grafana does: versions like 1.2 give valid PromQL', () => {
    // test/integration/prometheus.test.ts runs the panels with promVariableText: a lone `\` before a
    // regex metacharacter (Grafana writes `\\`) is a PromQL parse error, not a query.
    const variable = (name: string) => dashboardVariables().find((v) => v.dashboard === MODELS_UID && v.name === name)!;
    const values = new Map([
      ['model', promVariableText(variable('model'), ['credit.risk'])],
      ['version', promVariableText(variable('version'), ['1.2', '2'])],
    ]);
    expect(values.get('version')).toBe('(1\\\\.2|2)');
    const exprs = targets(board(MODELS_UID)).flatMap((t) => (t.expr ? [interpolatePromQL(t.expr, values)] : []));
    expect(exprs.length).toBeGreaterThan(5);
    const file = path.join(tempDir(), 'panels.yml');
    const rules = exprs.map((expr, i) => `      - record: panel:${i}\n        expr: ${JSON.stringify(expr)}`);
    writeFileSync(file, ['groups:', '  - name: panels', '    rules:', ...rules].join('\n'));
    const run = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
    expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
  });

  it('names only the provisioned data sources', () => {
    const provisioned = readFileSync('deploy/grafana/provisioning/datasources/datasources.yml', 'utf8');
    const sources = [...provisioned.matchAll(/uid: (\S+)\s+type: (\S+)/g)].map((m) => `${m[1]} ${m[2]}`);
    expect(sources).toEqual(['prometheus prometheus', 'clickhouse grafana-clickhouse-datasource']);
    for (const t of allTargets) expect(sources).toContain(`${t.datasource.uid} ${t.datasource.type}`);
    for (const d of boards.values())
      for (const v of d.templating.list ?? [])
        expect(v.datasource).toEqual({ type: 'prometheus', uid: 'prometheus' });
  });

  it('queries only metrics and labels the service exposes', async () => {
    const exposed = await exposedMetrics();
    const prometheus = allTargets.filter((t) => t.datasource.uid === 'prometheus');
    expect(prometheus.length).toBeGreaterThan(15);
    for (const { expr } of prometheus) {
      const metrics = metricsIn(expr!);
      expect(metrics.length, expr).toBeGreaterThan(0);
      for (const m of metrics) expect(exposed, `${m} in ${expr}`).toContain(m);
      const allowed = new Set([
        'le',
        'instance',
        'job',
        ...metrics.flatMap((m) => LABELS[baseName(m)] ?? []),
      ]);
      for (const label of labelsIn(expr!)) expect(allowed, `label ${label} in ${expr}`).toContain(label);
    }
    for (const d of boards.values())
      for (const v of d.templating.list ?? [])
        for (const m of metricsIn(v.query)) expect(exposed).toContain(m);
  });

  it('defines every variable a query uses', () => {
    for (const d of boards.values()) {
      const defined = new Set((d.templating.list ?? []).map((v) => v.name));
      const texts = [
        ...targets(d).map((t) => t.expr ?? t.rawSql!),
        ...(d.templating.list ?? []).map((v) => v.query),
      ];
      for (const text of texts)
        for (const m of text.matchAll(/\$\{?(\w+)/g))
          if (!m[1]!.startsWith('__')) expect(defined, text).toContain(m[1]);
    }
    const model = board(MODELS_UID).templating.list!.find((v) => v.name === 'model')!;
    expect(model.query).toBe('label_values(modelwatch_predictions_total, model)');
    // The ClickHouse queries compare with `=`, so the model variable is single-valued.
    expect(model.multi).toBe(false);
  });

  it('uses the ClickHouse plugin’s raw-SQL time-series query model and macros', () => {
    const clickhouse = targets(board(MODELS_UID)).filter((t) => t.datasource.uid === 'clickhouse');
    expect(clickhouse).toHaveLength(2);
    for (const t of clickhouse) {
      expect(t).toMatchObject({
        editorType: 'sql',
        queryType: 'timeSeries',
        format: 0,
        pluginVersion: '4.0.0',
      });
      expect(t.rawSql).toMatch(/^SELECT toStartOfHour\(timestamp\) AS time, model_version, /);
      expect(t.rawSql).toContain('FROM predictions FINAL');
      expect(t.rawSql).toContain(
        "WHERE model_id = decodeURLComponent('${model:percentencode}') AND has(splitByChar(',', " +
          "replaceRegexpOne(decodeURLComponent('${version:percentencode}'), '(?s)^[{](.*)[}]$', '\\\\1')), model_version)\n" +
          'AND $__timeFilter(timestamp)',
      );
      expect(t.rawSql).toMatch(/GROUP BY time, model_version\nORDER BY time/);
    }
  });

  it('puts variables into ClickHouse SQL percent-encoded only (Grafana’s quoting formats leave `\\`)', () => {
    const sql = [...boards.values()].flatMap((d) =>
      [...targets(d), ...(d.annotations?.list ?? []).flatMap((a) => a.target ?? [])].flatMap((t) =>
        t.rawSql === undefined ? [] : [t.rawSql],
      ),
    );
    expect(sql.length).toBeGreaterThan(5);
    for (const text of sql) {
      const uses = [...text.matchAll(/\$\{?(\w+)(:\w+)?\}?/g)].filter(([, name]) => !name!.startsWith('__'));
      for (const [use, , format] of uses) expect(format, `${use} in ${text}`).toBe(':percentencode');
    }
  });

  it('gives every panel a unique id, every query a refId, and fits the 24-column grid', () => {
    for (const d of boards.values()) {
      expect(new Set(d.panels.map((p) => p.id)).size).toBe(d.panels.length);
      for (const p of d.panels) {
        expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
        expect(new Set((p.targets ?? []).map((t) => t.refId)).size).toBe((p.targets ?? []).length);
        for (const t of p.targets ?? []) expect(t.refId, `${d.title} / ${p.title}`).toMatch(/^[A-Z]$/);
      }
    }
  });

  it('produces byte-identical files on every run, and leaves unchanged files alone', async () => {
    const again = tempDir();
    await writeDashboards(again);
    for (const uid of UIDS)
      expect(readFileSync(path.join(again, `${uid}.json`), 'utf8')).toBe(
        readFileSync(path.join(dir, `${uid}.json`), 'utf8'),
      );
    expect((await writeDashboards(again)).map((w) => w.changed)).toEqual([false, false, false, false]);
  });

  it('is what dashboards/ in the repository holds (else run: modelwatch dashboards)', () => {
    for (const definition of DASHBOARDS)
      expect(readFileSync(path.join('dashboards', `${definition.uid}.json`), 'utf8'), definition.uid).toBe(
        renderDashboard(definition),
      );
  });
});

describe('modelwatch dashboards (CLI)', () => {
  it('writes to --out and prints what it wrote', async () => {
    const out = path.join(tempDir(), 'nested', 'out');
    const lines: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      expect(await dashboardsCommand.run(['--out', out], { migrations: [] })).toBe(0);
      expect(await dashboardsCommand.run(['--out', out], { migrations: [] })).toBe(0);
    } finally {
      spy.mockRestore();
    }
    expect(lines.join('')).toBe(
      [
        ...UIDS.map((uid) => `wrote ${path.join(out, `${uid}.json`)} (${uid})\n`),
        ...UIDS.map((uid) => `unchanged ${path.join(out, `${uid}.json`)} (${uid})\n`),
      ].join(''),
    );
  });

  it('fails with one line on bad arguments or an unwritable directory', async () => {
    await expect(dashboardsCommand.run(['extra'], { migrations: [] })).rejects.toThrow(/^unexpected argument 'extra'/);
    await expect(dashboardsCommand.run(['--bogus'], { migrations: [] })).rejects.toThrow(/--bogus/);
    const file = path.join(tempDir(), 'a-file');
    writeFileSync(file, '');
    const err = await dashboardsCommand.run(['--out', path.join(file, 'sub')], { migrations: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^cannot write dashboards to .*a-file\/sub: ENOTDIR/);
    expect((err as Error).message).not.toContain('\n');
  });
});
