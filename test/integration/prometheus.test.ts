import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { audit } from '../../src/audit/index.js';
import { changeDetection } from '../../src/change-detection/index.js';
import { metrics } from '../../src/metrics/index.js';
import { performanceEstimation } from '../../src/performance-estimation/index.js';
import { CALIFORNIA, playCaliforniaTraffic } from '../support/california.js';
import {
  dashboardTargets,
  dashboardVariables,
  interpolatePromQL,
  parseLabelValues,
  promVariableText,
} from '../support/dashboards.js';
import { dumpDom, hasChromium, screenshot } from '../support/chromium.js';
import { tempDir, waitFor } from '../support/harness.js';
import { panelChartHtml } from '../support/panel-chart.js';
import {
  hasBinary,
  loadedRules,
  scrapeHealth,
  startPrometheus,
  type PromSeries,
  type RunningPrometheus,
} from '../support/prometheus.js';
import { startTestService } from '../support/service.js';
import { SHOP_SEGMENT_LABELS } from '../support/segments-data.js';
import { SHOP, storeShopSegments } from '../support/shop-segments.js';

/**
 * Every PromQL query of every dashboard panel (read from the checked-in dashboards/*.json) against
 * a real Prometheus scraping a real modelwatch fed with the California housing traffic: each
 * returns at least one series with a finite value. No list of metric names: what the dashboards
 * ask is what is checked. The shop's stored segment windows (shop-segments.ts) give the segment
 * gauges their series.
 */
const prometheusMissing = !hasBinary('prometheus');
if (prometheusMissing)
  console.warn('prometheus is not installed (apt-get install prometheus): the Prometheus test is skipped');

const PROMETHEUS_UID = 'prometheus';

const finite = (series: PromSeries[]) =>
  series.some((s) => s.values.some(([, v]) => Number.isFinite(Number(v))));

/** Each dashboard's variables resolved in order (a later query may use an earlier variable). */
async function resolveVariables(prometheus: RunningPrometheus): Promise<Map<string, Map<string, string>>> {
  const byDashboard = new Map<string, Map<string, string>>();
  for (const variable of dashboardVariables()) {
    expect(variable.datasource, `${variable.dashboard} $${variable.name}`).toBe(PROMETHEUS_UID);
    const texts = byDashboard.get(variable.dashboard) ?? new Map<string, string>();
    const { match, label } = parseLabelValues(interpolatePromQL(variable.query, texts));
    const values = await prometheus.labelValues(label, match ?? `{${label}!=""}`);
    expect(values, `${variable.dashboard} $${variable.name}: ${variable.query}`).not.toEqual([]);
    // A single-valued variable defaults to the first value: california (before shop).
    texts.set(variable.name, promVariableText(variable, values));
    byDashboard.set(variable.dashboard, texts);
  }
  return byDashboard;
}

/**
 * The models dashboard's "Predictions by version" panel data, charted in Chromium: both versions'
 * series render. With MODELWATCH_UPDATE_DOCS=1 its screenshot becomes docs/dashboard-panel.png.
 */
async function renderPanel(
  prometheus: RunningPrometheus,
  variables: Map<string, Map<string, string>>,
  start: number,
): Promise<void> {
  const panel = dashboardTargets().find(
    (t) => t.dashboard === 'modelwatch-models' && t.panel === 'Predictions by version',
  )!;
  const expr = interpolatePromQL(panel.expr!, variables.get('modelwatch-models')!);
  const series = await prometheus.query(expr, { start, end: Math.ceil(Date.now() / 1000), step: 1 });
  const dir = tempDir('modelwatch-panel-');
  const html = path.join(dir, 'panel.html');
  writeFileSync(
    html,
    panelChartHtml(
      panel.panel,
      expr,
      series.map((s) => ({ legend: `version ${s.metric['version'] ?? ''}`, data: s })),
    ),
  );
  const { console: messages } = await dumpDom(html);
  expect(messages).toEqual([expect.stringMatching(/^"panel rendered: 2 series"/)]);
  if (process.env['MODELWATCH_UPDATE_DOCS'] !== '1') return;
  await screenshot(html, path.join(dir, 'panel.png'), { width: 900, height: 440 });
  mkdirSync('docs', { recursive: true });
  copyFileSync(path.join(dir, 'panel.png'), 'docs/dashboard-panel.png');
}

const chromiumMissing = !hasChromium();

describe.skipIf(prometheusMissing)('dashboards against a real Prometheus', () => {
  it('every panel query returns series from the scraped service', { timeout: 240_000 }, async ({ skip }) => {
    const service = await startTestService();
    const address = new URL(service.url).host;
    const prometheus = await startPrometheus({
      address,
      key: service.config.api.adminKey,
      ruleFiles: [path.resolve(import.meta.dirname, '../../deploy/prometheus/alerts.yml')],
    });
    const start = Math.floor(Date.now() / 1000);

    // Each wave scraped before the next: the rate() panels need a counter seen to grow.
    const scraped = (model: string) => (sent: number) =>
      waitFor(`Prometheus to scrape ${sent} predictions of ${model}`, async () => {
        const [total] = await prometheus.query(`sum(modelwatch_predictions_total{model="${model}"})`);
        return Number(total?.values[0]?.[1]) >= sent ? true : undefined;
      });
    await playCaliforniaTraffic(service, { waves: 4, afterWave: scraped(CALIFORNIA) });
    // The shop's counter too (else ModelwatchNoPredictions fires for it).
    await storeShopSegments(service, { afterFirstDay: scraped(SHOP) });
    await service.use(metrics).quality.refresh();
    // The estimate gauges' loop runs each minute; version 2's range reference was just set.
    await service.use(performanceEstimation).gauges.runOnce();
    // The same for the change-detection gauges (California has a change_detection section).
    await service.use(changeDetection).gauges.runOnce();
    const verified = await service.use(audit).verifier.runOnce();
    expect(verified.ok).toBe(true);

    expect((await scrapeHealth(prometheus)).map((t) => [t.health, t.lastError])).toEqual([['up', '']]);
    const queries = dashboardTargets().filter((t) => t.datasource === PROMETHEUS_UID);
    // p-values exist for ks and chi2 only (auto picks them up to 1,000 reference rows): California's
    // references are larger, so its methods are distances and the p-value column stays empty.
    const mayBeEmpty = (t: (typeof queries)[number]) =>
      t.panel === 'Latest drift statistic by column' && t.expr!.includes('modelwatch_drift_p_value');
    expect(queries.length).toBeGreaterThan(15);

    const failing = await waitFor(
      'every dashboard query to return a finite value',
      async () => {
        const variables = await resolveVariables(prometheus);
        const missing: string[] = [];
        for (const t of queries) {
          const expr = interpolatePromQL(t.expr!, variables.get(t.dashboard) ?? new Map());
          const end = Math.ceil(Date.now() / 1000);
          const series = await prometheus.query(expr, { start, end, step: 1 });
          if (!finite(series) && !mayBeEmpty(t))
            missing.push(`${t.dashboard} / ${t.panel} / ${t.refId}: ${expr}`);
        }
        return missing.length === 0 ? missing : Promise.reject(new Error(missing.join('\n')));
      },
      60_000,
    );
    expect(failing).toEqual([]);

    // The model variable lists the model the traffic came from.
    const variables = await resolveVariables(prometheus);
    expect(variables.get('modelwatch-models')?.get('model')).toBe(CALIFORNIA);

    // The segment panels on the shop's latest stored day: every segment of both segmentations, a
    // drift share only in north (x, one of its three features), a flagged column only in west (y).
    const shopSegments = async (panel: string) => {
      const t = queries.find((q) => q.dashboard === 'modelwatch-drift' && q.panel === panel)!;
      const series = await prometheus.query(interpolatePromQL(t.expr!, variables.get('modelwatch-drift')!));
      return series
        .filter((x) => x.metric['model'] === SHOP)
        .map((x): [string, number] => [x.metric['segment'] ?? '', Number(x.values[0]?.[1])]);
    };
    const share = await shopSegments('Segment drift share');
    expect(share.map(([segment]) => segment).sort()).toEqual(SHOP_SEGMENT_LABELS);
    expect(share.filter(([, v]) => v !== 0)).toEqual([['feature:region=north', 1 / 2]]);
    const flagged = await shopSegments('Flagged quality columns by segment');
    expect(flagged).toHaveLength(SHOP_SEGMENT_LABELS.length);
    expect(flagged.filter(([, v]) => v !== 0)).toEqual([['feature:region=west', 1]]);

    // The shipped alert rules evaluate without error on the real series. Active (pending or
    // firing) on this traffic: the malformed message, the drifted latest window, and the quality of
    // version 2's hour under the accuracy and F1 floors; nothing else.
    const active = await waitFor('the dead-letter, drift and quality alerts', async () => {
      const rules = await loadedRules(prometheus);
      const broken = rules.filter((r) => r.health !== 'ok');
      if (broken.length > 0) throw new Error(JSON.stringify(broken));
      const alerting = rules.flatMap((r) =>
        (r.alerts ?? []).map((a) => `${r.name} ${a.labels['topic'] ?? a.labels['model'] ?? ''}`),
      );
      const wanted = ['ModelwatchDeadLetters', 'ModelwatchDatasetDrift', 'ModelwatchQualityBelowFloor'];
      return wanted.every((w) => alerting.some((a) => a.startsWith(w))) ? alerting : undefined;
    });

    expect([...new Set(active)].sort()).toEqual([
      'ModelwatchDatasetDrift california',
      `ModelwatchDeadLetters ${service.config.topics.predictions}`,
      'ModelwatchQualityBelowFloor california',
    ]);
    // Last, so that without Chromium only the rendering is reported as skipped.
    if (chromiumMissing) skip('chromium is not installed: the panel rendering check did not run');
    await renderPanel(prometheus, variables, start);
  });
});
