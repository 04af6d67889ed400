/**
 * A window of a declared segmentation whose segments cannot be chosen under the memory bound (a
 * burst hour with a value per prediction) is recorded as refused and the segment loop goes on
 * with the next windows: before, nothing was stored and every later run, after a restart or a new
 * reference revision too, failed on the same window, so one burst froze the segmentation for good.
 * Embedded engine, no service or broker.
 */
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { QualityService } from '../../src/drift/quality/service.js';
import { SegmentEvaluator } from '../../src/drift/segments/evaluator.js';
import { createSegmentGauges } from '../../src/drift/segments/gauges.js';
import { SegmentedAnalysis } from '../../src/drift/segments/segmented.js';
import { readRefusedSegmentWindows } from '../../src/drift/segments/refused-windows.js';
import { readSegmentWindows } from '../../src/drift/segments/store.js';
import { DEFAULT_DRIFT_LIMITS, DriftService } from '../../src/drift/service/drift-service.js';
import { PolicyStore } from '../../src/drift/store/policies.js';
import type { ModelRegistry } from '../../src/models/index.js';
import type { Database } from '../../src/platform/clickhouse/index.js';
import { useMigratedEngine } from '../support/engine.js';
import { allMigrations } from '../support/migrations.js';

let db: Database;
useMigratedEngine('segments_refused_window', allMigrations, (d) => (db = d));

const T0 = Date.UTC(2026, 5, 1);
const HOUR = 3_600_000;
const MODEL = 'burst';
const KEY = { modelId: MODEL, version: '1' };

const models = {
  list: () =>
    Promise.resolve([
      {
        model_id: MODEL,
        model_version: '1',
        task: 'regression',
        stage: 'production',
        positive_class: null,
        first_seen: new Date(T0).toISOString(),
      },
    ]),
} as unknown as ModelRegistry;

/** `count` predictions from `start`, a second apart; `req` one of three channels, or one value each. */
async function predictions(start: number, count: number, req: 'channels' | 'unique', id: string) {
  const value =
    req === 'channels'
      ? `['web', 'app', 'store'][number % 3 + 1]`
      : `concat('request-', leftPad(toString(number), 32, '0'))`;
  await db.client.command({
    query: `INSERT INTO predictions (model_id, model_version, prediction_id, timestamp, features_num, prediction, prediction_num, is_error, tags)
      SELECT '${MODEL}', '1', concat('${id}-', toString(number)), fromUnixTimestamp64Milli(${start} + number * ${req === 'channels' ? 1000 : 10}, 'UTC'),
             map('x', toFloat64(number % 50)), toString(number % 2), number % 2, false, map('req', ${value})
      FROM numbers(${count})`,
  });
}

function evaluator(logger: pino.Logger) {
  const policies = new PolicyStore(db);
  const drift = new DriftService({ db, models, policies, logger, limits: DEFAULT_DRIFT_LIMITS });
  const quality = new QualityService({ db, drift, policies, logger });
  // 1 MiB: the burst hour's 100,000 distinct values need more to be counted; three channels do not.
  const segmented = new SegmentedAnalysis({
    db,
    models,
    policies,
    logger,
    limits: drift.limits,
    drift,
    quality,
    segmentMaxMemoryBytes: 1024 ** 2,
  });
  const gauges = createSegmentGauges(new Registry());
  return {
    drift,
    policies,
    loop: new SegmentEvaluator({ db, drift, segmented, models, policies, gauges, logger }),
  };
}

function capturingLogger() {
  const lines: { msg: string; start?: string; reason?: string }[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line) as never) });
  return { logger, lines };
}

const hour = (k: number) => new Date(T0 + k * HOUR).toISOString();

describe('a refused segment window', () => {
  it('is recorded and logged, and the windows after it are evaluated and stored, across restarts and reference revisions', async () => {
    // Hours 0, 2 and 3: three channels; hour 1: a burst with a request id per prediction; hour 6 moves the watermark.
    await predictions(T0, 600, 'channels', 'h0');
    await predictions(T0 + HOUR, 100_000, 'unique', 'h1');
    await predictions(T0 + 2 * HOUR, 600, 'channels', 'h2');
    await predictions(T0 + 3 * HOUR, 600, 'channels', 'h3');
    await predictions(T0 + 6 * HOUR, 3, 'channels', 'h6');
    const { logger, lines } = capturingLogger();
    const first = evaluator(logger);
    await first.policies.put(MODEL, { segments: { evaluation_windows: { 'tag:req': '1h' } } }, 'test');
    const { revision } = await first.drift.setReference(KEY, { from: T0, to: T0 + HOUR }, 'test');

    // Run 1: hour 0 stored, hour 1 refused (the run stops there).
    const run1 = await first.loop.runOnce();
    expect([...new Set(run1.map((w) => w.start))]).toEqual([hour(0)]);
    const refused = await readRefusedSegmentWindows(db, { modelId: MODEL });
    expect(refused).toEqual([
      {
        model_id: MODEL,
        version: '1',
        segmentation: 'tag:req',
        start: hour(1),
        end: hour(2),
        reason: expect.stringContaining('too many distinct values for a segment') as unknown,
        reference_revision: revision,
      },
    ]);
    const warned = lines.filter((l) => l.msg.startsWith('segment window refused'));
    expect(warned.map((l) => [l.start, l.reason?.includes('too many distinct values')])).toEqual([
      [hour(1), true],
    ]);

    // Run 2: past the refused window, the later ones are evaluated and stored.
    const run2 = await first.loop.runOnce();
    expect([...new Set(run2.map((w) => w.start))]).toEqual([hour(2), hour(3)]);
    expect(run2.filter((w) => w.start === hour(2)).map((w) => [w.value, w.predictions])).toEqual([
      ['app', 200],
      ['store', 200],
      ['web', 200],
    ]);
    const stored = await readSegmentWindows(db, { modelId: MODEL, segmentation: 'tag:req' });
    expect([...new Set(stored.map((w) => w.start))]).toEqual([hour(0), hour(2), hour(3)]);

    // A restarted loop and a new reference revision resume after the stored and refused windows:
    // nothing is refused, logged or stored again.
    const restarted = evaluator(logger);
    const revised = await restarted.drift.setReference(KEY, { from: T0, to: T0 + HOUR }, 'test');
    expect(revised.revision).not.toBe(revision);
    expect(await restarted.loop.runOnce()).toEqual([]);
    expect(await readRefusedSegmentWindows(db, { modelId: MODEL })).toHaveLength(1);
    expect(lines.filter((l) => l.msg.startsWith('segment window refused'))).toHaveLength(1);

    // A later window is evaluated as usual.
    await predictions(T0 + 7 * HOUR, 3, 'channels', 'h7');
    await predictions(T0 + 8 * HOUR, 3, 'channels', 'h8');
    const later = await restarted.loop.runOnce();
    expect([...new Set(later.map((w) => w.start))]).toEqual([hour(6)]);
    expect(later[0]!.reference_revision).toBe(revised.revision);
  });
});
