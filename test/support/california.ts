/**
 * The NannyML California housing data (test/fixtures/drift/README.md) played through a running
 * service the way production traffic arrives: predictions in waves (so Prometheus sees counters
 * grow between scrapes), late labels, one malformed message, access logs, a drift reference, a
 * monthly drift policy with a retrain section, then drift and retrain evaluations. Used by the
 * tests that prove the dashboards' queries and the alert rules against real data.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { drift } from '../../src/drift/index.js';
import { triggers } from '../../src/triggers/index.js';
import { produce, waitFor } from './harness.js';
import type { TestService } from './service.js';
import { put, waitForModel } from './triggers.js';
import { FEATURES as CALIFORNIA_FEATURES } from '../../src/simulator/data.js';

export const CALIFORNIA = 'california';

export { CALIFORNIA_FEATURES };

const fixtures = path.resolve(import.meta.dirname, '../fixtures/drift');
export const californiaFile = (name: string) => path.join(fixtures, name);
const csv = (name: string) =>
  parse<Record<string, string>>(readFileSync(californiaFile(name)), { columns: true });
const utc = (t: string) => Date.parse(`${t.replace(' ', 'T')}Z`);
const HOUR = 3_600_000;

export interface CaliforniaTraffic {
  /** Predictions stored (each once, counted with FINAL). */
  predictions: number;
  /** Epoch ms of the first and last event time of the replayed history. */
  from: number;
  to: number;
}

/**
 * Each analysis row as a prediction event. The fixture has no serving latency or status, so both
 * are derived from the row id (deterministic): latency 5–64 ms, every 97th prediction an error.
 */
function predictionEvents(
  rows: Record<string, string>[],
  version: string,
  time: (r: Record<string, string>) => number,
) {
  return rows.map((r) => {
    const id = Number(r['id']);
    return {
      prediction_id: `cal-${version}-${r['id']}`,
      model_id: CALIFORNIA,
      model_version: version,
      timestamp: time(r),
      features: Object.fromEntries(CALIFORNIA_FEATURES.map((f) => [f, Number(r[f])])),
      prediction: Number(r['y_pred']),
      score: Number(r['y_pred_proba']),
      latency_ms: 5 + (id % 60),
      status: id % 97 === 0 ? 'error' : 'ok',
      entity_id: `block-${id % 500}`,
    };
  });
}

/**
 * Plays the traffic and waits until it is stored, evaluated and the retrain trigger published.
 * Version `1` replays the analysis period (2021-06 to 2022-05, monthly drift windows); version `2`
 * takes 400 rows re-timed into the last complete wall-clock hour with their labels, so the
 * `model_quality` gauges (last complete hour) have values.
 */
export async function playCaliforniaTraffic(
  service: TestService,
  options: {
    waves?: number;
    pauseMs?: number;
    /**
     * Awaited after each wave but the last, with the predictions sent so far. A test that needs
     * each wave in its own Prometheus scrape waits there for the counters to reach the count:
     * a pause alone did not ensure it when the consumer started late and took several waves at
     * once (a counter seen only after its series' one jump has no rate).
     */
    afterWave?: (sent: number) => Promise<unknown>;
  } = {},
): Promise<CaliforniaTraffic> {
  const { topics } = service.config;
  const analysis = csv('california_housing_analysis.csv');
  const truth = new Map(csv('california_housing_analysis_gt.csv').map((r) => [r['id'], r['clf_target']]));
  const history = predictionEvents(analysis, '1', (r) => utc(r['timestamp']!));
  const lastHour = Math.floor(Date.now() / HOUR) * HOUR - HOUR;
  const recentRows = analysis.slice(0, 400);
  const recent = predictionEvents(recentRows, '2', (r) => lastHour + (Number(r['id']) % 3_600) * 1_000);
  const all = [...history, ...recent];
  // One wave unless a test scrapes between them: each pause costs 1.5 s.
  const waves = options.waves ?? 1;
  // Both versions in every wave, so each version's counters grow between scrapes.
  const share = (events: typeof all, w: number) => {
    const size = Math.ceil(events.length / waves);
    return events.slice(w * size, (w + 1) * size);
  };
  let sent = 0;
  for (let w = 0; w < waves; w++) {
    const wave = [...share(history, w), ...share(recent, w)];
    await produce(topics.predictions, wave, (i) => `cal-${w}-${i}`);
    sent += wave.length;
    if (w === waves - 1) break;
    await new Promise((resolve) => setTimeout(resolve, options.pauseMs ?? 1_500));
    await options.afterWave?.(sent);
  }
  // A message that is not a prediction: dead-lettered with its reason.
  await produce(topics.predictions, ['{"prediction_id": "broken", "model_id": 42}']);
  const labelOf = (prefix: string, r: Record<string, string>, time: number) => ({
    prediction_id: `${prefix}-${r['id']}`,
    label: Number(truth.get(r['id'])),
    timestamp: time,
  });
  await produce(topics.labels, [
    ...analysis.map((r) => labelOf('cal-1', r, utc(r['timestamp']!) + 7 * 86_400_000)),
    ...recentRows.map((r) => labelOf('cal-2', r, lastHour + HOUR)),
  ]);
  await produce(topics.accessLog, accessEvents(lastHour));
  await waitFor('the California traffic stored', async () => {
    const [row] = await service.rows<{ p: number; l: number }>(
      'SELECT (SELECT count() FROM predictions FINAL) AS p, (SELECT count() FROM labels FINAL) AS l',
    );
    return row?.p === all.length && row.l === all.length ? true : undefined;
  });
  await configureDrift(service, lastHour);
  await service.use(drift).evaluator.runOnce();
  await service.use(triggers).evaluator.runOnce();
  await waitFor('the retrain trigger published', async () => {
    const listed = await service.use(triggers).store.list({ modelId: CALIFORNIA, limit: 10 });
    return listed.length > 0 && listed.every((t) => t.published) ? true : undefined;
  });
  return { predictions: all.length, from: history[0]!.timestamp, to: lastHour + HOUR };
}

/** Reads of predictions by analysts, one in ten denied (the governance dashboard's rows). */
function accessEvents(at: number) {
  return Array.from({ length: 60 }, (_, i) => ({
    event_id: `cal-access-${i}`,
    timestamp: at + i * 1_000,
    principal: `analyst-${i % 3}`,
    action: i % 4 === 0 ? 'export' : 'read',
    resource_type: 'prediction',
    resource_id: `cal-1-${5832 + i}`,
    model_id: CALIFORNIA,
    entity_id: `block-${i}`,
    purpose: 'support',
    outcome: i % 10 === 0 ? 'denied' : 'allowed',
  }));
}

/**
 * The reference period as version 1's drift reference; monthly windows; retrain on Latitude drift.
 * Version 2's reference is its own labeled last hour as a time range: CBPE (src/performance-
 * estimation) calibrates only on a range reference, so this gives `modelwatch_estimated_quality`
 * a series for that hour, beside `modelwatch_model_quality`.
 */
async function configureDrift(service: TestService, lastHour: number): Promise<void> {
  await waitForModel(service, CALIFORNIA);
  const policy = await put(service, `/api/v1/models/${CALIFORNIA}/policy`, {
    drift: { evaluation_window: 'month', allowed_lateness: '0s' },
    retrain: { drift: { columns: ['Latitude'], consecutive_windows: 2 }, cooldown: '365d' },
    // Change-detection gauges over the last day: version 2's labeled last hour gives them a series.
    change_detection: { window: '1d' },
  });
  if (policy.status !== 200) throw new Error(`policy: ${policy.status} ${JSON.stringify(policy.body)}`);
  const rows = csv('california_housing_reference.csv').map((r) => ({
    ...Object.fromEntries(CALIFORNIA_FEATURES.map((f) => [f, Number(r[f])])),
    prediction: Number(r['y_pred']),
  }));
  const reference = await put(service, `/api/v1/models/${CALIFORNIA}/versions/1/reference`, { rows });
  if (reference.status !== 200)
    throw new Error(`reference: ${reference.status} ${JSON.stringify(reference.body)}`);
  const recent = await put(service, `/api/v1/models/${CALIFORNIA}/versions/2/reference`, {
    from: lastHour,
    to: lastHour + HOUR,
  });
  if (recent.status !== 200)
    throw new Error(`reference of version 2: ${recent.status} ${JSON.stringify(recent.body)}`);
}
