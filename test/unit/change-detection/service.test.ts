import { Readable } from 'node:stream';
import { ResultSet } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { ChangeDetectionService, detectInStream } from '../../../src/change-detection/service.js';
import { detectorOptions, type ChangeDetectionPolicy } from '../../../src/change-detection/settings.js';
import { mulberry32 } from '../../../src/change-detection/streams.js';
import type { ModelRegistry, ModelVersionRecord } from '../../../src/models/index.js';
import type { Database } from '../../../src/platform/clickhouse/index.js';

const T0 = Date.UTC(2026, 0, 1);

/** Rows as ClickHouse streams JSONCompactEachRow: `[t, id, loss]` per line, t as a quoted Int64 on a server. */
function* lossLines(count: number, loss: (i: number) => number): Generator<Buffer> {
  for (let i = 0; i < count; i++) yield Buffer.from(`["${T0 + i * 1000}","p-${i}",${loss(i)}]\n`);
}

/** A database whose one query answers with the given lines through the real client's ResultSet. */
function fakeDb(lines: () => Iterable<Buffer>, seen: { format?: string; pulled: number }): Database {
  return {
    client: {
      query: ({ format }: { format: 'JSONCompactEachRow' }) => {
        seen.format = format;
        const counted = function* () {
          for (const line of lines()) {
            seen.pulled += 1;
            yield line;
          }
        };
        return Promise.resolve(new ResultSet(Readable.from(counted(), { objectMode: false }), format, 'q'));
      },
    },
  } as unknown as Database;
}

function service(db: Database, maxValues?: number, policy: ChangeDetectionPolicy = {}) {
  const record = { model_id: 'm', model_version: '1', task: 'binary_classification' } as ModelVersionRecord;
  return new ChangeDetectionService({
    db,
    models: { list: () => Promise.resolve([record]) } as unknown as ModelRegistry,
    policy: () => Promise.resolve(policy),
    defaultVersion: () => '1',
    ...(maxValues === undefined ? {} : { maxValues }),
  });
}

describe('change-detection service', () => {
  it('reads one row per labeled prediction and detects as over the whole stream', async () => {
    const next = mulberry32(3);
    const losses = Array.from({ length: 20_000 }, (_, i): number =>
      next() < (i < 10_000 ? 0.1 : 0.4) ? 1 : 0,
    );
    const seen = { pulled: 0 };
    const report = await service(fakeDb(() => lossLines(losses.length, (i) => losses[i]!), seen)).report({
      modelId: 'm',
      from: T0,
      to: T0 + 86_400_000,
    });
    expect(seen).toMatchObject({ format: 'JSONCompactEachRow', pulled: losses.length });
    const stream = {
      loss: losses,
      ts: losses.map((_, i) => T0 + i * 1000),
      ids: losses.map((_, i) => `p-${i}`),
    };
    const expected = detectInStream(stream, detectorOptions({}));
    expect(expected.length).toBeGreaterThan(0);
    expect(report.detections).toEqual(expected);
    expect(report.values).toBe(losses.length);
    expect(report.mean_loss).toBe(losses.reduce((s, x) => s + x, 0) / losses.length);
  });

  it('stops reading past the cap with a 400 asking for a shorter range', async () => {
    const seen = { pulled: 0 };
    // Far more rows than the cap: the answer must not wait for (or hold) all of them.
    const many = () => lossLines(200_000, () => 0);
    const error = await service(fakeDb(many, seen), 1_000)
      .report({ modelId: 'm', from: T0, to: T0 + 86_400_000 })
      .catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'TOO_MANY_VALUES', status: 400 });
    expect((error as Error).message).toContain('shorter from/to range');
    expect(seen.pulled).toBeLessThan(100_000);
  });

  it('stops past 10,000 detections with a 400 naming threshold, without holding them all', async () => {
    // A tiny threshold with min_instances 1 detects at every other value of an alternating loss:
    // 500,000 detections here, which the answer held (and serialized) in full.
    const seen = { pulled: 0 };
    const error = await service(
      fakeDb(() => lossLines(1_000_000, (i) => i % 2), seen),
      undefined,
      {
        threshold: 1e-9,
        min_instances: 1,
      },
    )
      .report({ modelId: 'm', from: T0, to: T0 + 86_400_000 })
      .catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'TOO_MANY_DETECTIONS', status: 400 });
    expect((error as Error).message).toContain('raise threshold');
    expect(seen.pulled).toBeLessThan(100_000);
    // At the cap, the answer still comes.
    const atCap = await service(
      fakeDb(() => lossLines(20_000, (i) => i % 2), { pulled: 0 }),
      undefined,
      {
        threshold: 1e-9,
        min_instances: 1,
      },
    ).report({ modelId: 'm', from: T0, to: T0 + 86_400_000 });
    expect(atCap.detections.length).toBe(10_000);
  });

  it('means of losses whose sum overflows are still the means, not Infinity (JSON null)', async () => {
    // Absolute errors near 1e308 are finite (the loss query keeps them); their sum is not.
    const report = await service(fakeDb(() => lossLines(4, () => 1e308), { pulled: 0 })).report({
      modelId: 'm',
      from: T0,
      to: T0 + 86_400_000,
    });
    expect(report.values).toBe(4);
    expect(report.mean_loss).toBe(1e308);
    const stream = { loss: [0, 0, 1e308, 1e308], ts: [0, 1, 2, 3], ids: ['a', 'b', 'c', 'd'] };
    const [first] = detectInStream(stream, { threshold: 1, minInstances: 2, delta: 0 });
    expect(first).toMatchObject({ index: 2, mean_after: 1e308 });
  });
});
