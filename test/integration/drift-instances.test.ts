/**
 * Two service instances share one ClickHouse and both run drift's and the segments' evaluation
 * loops over every model. Whichever evaluates a window, each instance's drift, data-quality and
 * segment gauges must show the newest stored window after its next pass (review26-ops finding 1:
 * an instance showed only the windows it evaluated itself, so `max by (model)` in
 * ModelwatchDatasetDrift kept another instance's stale 1, or missed a drift).
 */
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drift, type DriftCapability } from '../../src/drift/index.js';
import { models, type ModelsCapability } from '../../src/models/index.js';
import { buildCapabilities, type Platform } from '../../src/platform/capability/index.js';
import type { Database } from '../../src/platform/clickhouse/index.js';
import { loadConfig } from '../../src/platform/config/index.js';
import { createLogger } from '../../src/platform/observability/index.js';
import { useMigratedEngine } from '../support/engine.js';
import { allMigrations } from '../support/migrations.js';
import { predictionJson } from '../support/prediction-json.js';

/** One instance: the drift capability (both loops, not started) on its own registry. */
interface Instance {
  registry: Registry;
  models: ModelsCapability;
  drift: DriftCapability;
  stop(): Promise<void>;
}

function instance(db: Database): Instance {
  const registry = new Registry();
  // Drift and models use neither Kafka nor the producer.
  const platform = {
    config: loadConfig({}),
    logger: createLogger('warn', 'drift-instances'),
    db,
    registry,
  } as unknown as Platform;
  const built = buildCapabilities([models, drift], platform);
  return {
    registry,
    models: built[0]!.instance as ModelsCapability,
    drift: built[1]!.instance as DriftCapability,
    stop: async () => {
      for (const { instance: capability } of built.reverse()) await capability.stop?.();
    },
  };
}

/** One pass of both loops, as the instance's service runs them. */
async function pass(i: Instance): Promise<void> {
  await i.drift.evaluator.runOnce();
  await i.drift.segmentEvaluator.runOnce();
}

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 2, 2);
const PER_HOUR = 100;

/** The model's predictions of `hours`: `a` moves out of the reference's range in the drifted hours. */
async function insertHours(db: Database, model: string, hours: number[], drifted: (h: number) => boolean) {
  const rows = hours.flatMap((h) =>
    Array.from({ length: PER_HOUR }, (_, i) =>
      predictionJson({
        model_id: model,
        model_version: '1',
        prediction_id: `${model}-${h}-${i}`,
        timestamp: T0 + h * HOUR + i * 30_000,
        features_num: { a: (i % 50) / 50 + (drifted(h) ? 3 : 0) },
        features_str: { region: i % 2 === 0 ? 'north' : 'south' },
      }),
    ),
  );
  await db.insertJsonEachRow('predictions', Buffer.from(rows.join('\n')));
}

const byLabels = async (i: Instance, name: string, labels: Record<string, string>) => {
  const metric = i.registry.getSingleMetric(name);
  const values = (await metric?.get())?.values ?? [];
  return values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
};

/** What an instance's gauges show for a model: its dataset drift, window end, quality and one segment. */
async function shown(i: Instance, model: string) {
  return {
    datasetDrift: await byLabels(i, 'modelwatch_dataset_drift', { model }),
    windowEnd: await byLabels(i, 'modelwatch_drift_window_end_seconds', { model }),
    outOfRange: await byLabels(i, 'modelwatch_data_quality', {
      model,
      column: 'a',
      check: 'out_of_range_share',
    }),
    northDrift: await byLabels(i, 'modelwatch_segment_dataset_drift', {
      model,
      segment: 'feature:region=north',
    }),
  };
}

/** Drift and segment gauges of a model whose newest window (ending at hour `end`) drifted or not. */
const driftOf = (end: number, drifted: boolean) => ({
  datasetDrift: drifted ? 1 : 0,
  windowEnd: (T0 + end * HOUR) / 1000,
  northDrift: drifted ? 1 : 0,
});

/** Every gauge of such a model, its data quality too. */
const newest = (end: number, drifted: boolean) => ({ ...driftOf(end, drifted), outOfRange: drifted ? 1 : 0 });

describe('drift, quality and segment gauges of two instances sharing one ClickHouse', () => {
  let db: Database;
  useMigratedEngine('drift_instances', allMigrations, (opened) => {
    db = opened;
  });
  let a: Instance;
  let b: Instance;
  beforeAll(() => {
    a = instance(db);
    b = instance(db);
  });
  afterAll(async () => {
    await a.stop();
    await b.stop();
  });

  /** Hours 0–3 of `model` stored, its version known, its policy set and hours 0–1 its reference. */
  async function start(model: string, drifted: (h: number) => boolean): Promise<void> {
    const key = { modelId: model, version: '1' };
    await insertHours(db, model, [0, 1, 2, 3], drifted);
    await a.models.registry.registerSeen([{ ...key, task: 'regression', firstSeen: T0 }]);
    const policy = {
      drift: { evaluation_window: '1h', allowed_lateness: '0s', dataset_drift_share: 0.5 },
      segments: { evaluate: ['feature:region'] },
    };
    await a.drift.policies.put(model, policy, 'test');
    await a.drift.service.setReference(key, { from: T0, to: T0 + 2 * HOUR }, 'test');
  }

  /** Hours 4–6 stored and A evaluates hours 3–5: B's next pass must show A's newest window, as A does. */
  async function expectBToFollowA(model: string, drifted: (h: number) => boolean): Promise<void> {
    await insertHours(db, model, [4, 5, 6], drifted);
    await pass(a);
    expect(await shown(a, model)).toEqual(newest(6, drifted(5)));
    await pass(b);
    expect(await shown(b, model)).toEqual(newest(6, drifted(5)));
  }

  it('show the newest (clean) window on B after A evaluated drifted then clean windows', async () => {
    const model = 'drifted-then-clean';
    const drifted = (h: number) => h === 2 || h === 3;
    await start(model, drifted);
    await pass(a); // A evaluates hours 0–2: the newest drifted
    await pass(b); // B evaluates nothing and shows the stored newest
    // Where B starts from: A's drifted window (quality is checked once B follows A).
    expect(await shown(b, model)).toMatchObject(driftOf(3, true));
    await expectBToFollowA(model, drifted); // the newest clean
  });

  it('show the newest (drifted) window on B after B evaluated clean windows and A the drifted ones', async () => {
    const model = 'clean-then-drifted';
    const drifted = (h: number) => h >= 4;
    await start(model, drifted);
    await pass(b); // B evaluates hours 0–2 itself: clean
    await pass(a);
    expect(await shown(b, model)).toEqual(newest(3, false));
    expect(await shown(a, model)).toMatchObject(driftOf(3, false)); // B's window, on A
    await expectBToFollowA(model, drifted); // the newest drifted
  });
});
