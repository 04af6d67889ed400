/**
 * A reference read back from the engine (after a restart, or once evicted from the cache) must
 * reach the walk pool's threads like a freshly set one: its sorted samples in shared memory, as
 * views of the result rather than copies. A private copy made the route walk every KS and W1
 * column on its own thread (100 × 1M: ~1.3 s more a window, and 800 MB copied).
 */
import { describe, expect, it } from 'vitest';
import { drift } from '../../src/drift/index.js';
import { DriftService } from '../../src/drift/service/drift-service.js';
import { PolicyStore } from '../../src/drift/store/policies.js';
import { currentRevision, readReference } from '../../src/drift/store/references.js';
import { models } from '../../src/models/index.js';
import { predictionJson } from '../support/prediction-json.js';
import { startTestService } from '../support/service.js';

const T0 = Date.UTC(2026, 7, 1);
const key = { modelId: 'stored-ref', version: '1' };

describe('a stored reference read back', () => {
  it('holds its sorted samples in shared memory, equal to the ones it was set with', async () => {
    const service = await startTestService();
    await service.use(models).registry.registerSeen([{ ...key, task: 'regression', firstSeen: T0 }]);
    // 140 features: more columns than a one-byte row count, as a wide model has.
    const rows = Array.from({ length: 3000 }, (_, i) =>
      predictionJson({
        model_id: key.modelId,
        model_version: key.version,
        prediction_id: `s-${i}`,
        timestamp: T0 + i * 1000,
        features_num: Object.fromEntries(
          Array.from({ length: 140 }, (_, f) => [`f${f}`, Math.sin(i * (f + 1)) * (f + 1)]),
        ),
        prediction: String(i / 7),
        prediction_num: i / 7,
        score: (i % 1000) / 1000,
      }),
    );
    await service.platform.db.insertJsonEachRow('predictions', Buffer.from(rows.join('\n')));
    const { service: driftService } = service.use(drift);
    await driftService.setReference(key, { from: T0, to: T0 + 3000 * 1000 }, 'test');
    const set = (await driftService.reference(key))!;

    const revision = (await currentRevision(service.platform.db, key))!;
    const stored = (await readReference(service.platform.db, key, revision))!;
    const numerical = stored.columns.filter((c) => c.numerical !== undefined);
    expect(numerical.length).toBe(142);
    for (const column of numerical) {
      const sorted = column.numerical!.sorted;
      expect(sorted.buffer, column.column).toBeInstanceOf(SharedArrayBuffer);
      const original = set.columns.find((c) => c.role === column.role && c.column === column.column)!;
      const want = original.numerical!.sorted;
      // The whole sample: one that lost its top values (a prefix of the original) is not equal.
      expect(sorted.length, column.column).toBe(want.length);
      expect(Buffer.from(sorted.buffer, sorted.byteOffset, sorted.byteLength)).toEqual(
        Buffer.from(want.buffer, want.byteOffset, want.byteLength),
      );
    }
    // Views of one result, not a copy each.
    expect(new Set(numerical.map((c) => c.numerical!.sorted.buffer)).size).toBe(1);
  });

  it('is one PUT of two set in the same millisecond, not a mix of both', async () => {
    const service = await startTestService();
    const registry = service.use(models).registry;
    const same = { modelId: 'same-ms', version: '1' };
    await registry.registerSeen([{ ...same, task: 'regression', firstSeen: T0 }]);
    const db = service.platform.db;
    const frozen = new DriftService({
      db,
      models: registry,
      policies: new PolicyStore(db),
      logger: service.platform.logger,
      now: () => T0,
    });
    const rows = (column: string) => Array.from({ length: 50 }, (_, i) => ({ features: { [column]: i } }));
    await Promise.all([
      frozen.setReference(same, { rows: rows('a') }, 'one'),
      frozen.setReference(same, { rows: rows('b') }, 'two'),
    ]);
    const revision = (await currentRevision(db, same))!;
    const stored = (await readReference(db, same, revision))!;
    const features = stored.columns.filter((c) => c.role === 'feature').map((c) => c.column);
    expect([['a'], ['b']]).toContainEqual(features);
  });
});
