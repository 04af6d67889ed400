import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { RawColumn } from '../../src/drift/engine/types.js';
import { rangeColumns, sampleRange } from '../../src/drift/store/range-sample.js';
import { copyRawColumnsFromRange, readRawColumns } from '../../src/drift/store/references.js';
import { models } from '../../src/models/index.js';
import { startTestService, type TestService } from '../support/service.js';

const T0 = Date.UTC(2026, 5, 1);
const HOUR = 3_600_000;
const key = { modelId: 'rs', version: '1' };

/** Numbers with ties, text features, numeric and text predictions, scores, a stored Infinity, labels. */
async function seed(service: TestService): Promise<void> {
  await service.use(models).registry.registerSeen([{ ...key, task: 'regression', firstSeen: T0 }]);
  const rows = Array.from({ length: 3000 }, (_, i) =>
    JSON.stringify({
      model_id: key.modelId,
      model_version: key.version,
      prediction_id: `rs-${i}`,
      timestamp: T0 + i * 1000,
      features_num: { x: Math.sin(i) * 1e3, tie: i % 7, z: (i % 5) / 3 },
      features_str: i % 3 === 0 ? { c: `c${i % 4}`, mixed: 'text' } : { c: 'other' },
      prediction: i % 10 === 0 ? 'yes' : String(i / 10),
      prediction_num: i % 10 === 0 ? null : i / 10,
      score: i % 4 === 0 ? null : i / 3000,
      probabilities: {},
      latency_ms: null,
      is_error: false,
      entity_id: '',
      request_id: '',
    }),
  );
  const db = service.platform.db;
  await db.insertJsonEachRow('predictions', Buffer.from(rows.join('\n')));
  // A feature holding a number in some rows and text in others, and a stored non-finite value.
  await db.client.command({
    query: `INSERT INTO predictions (model_id, model_version, prediction_id, timestamp, features_num, prediction)
            VALUES ('rs', '1', 'rs-inf', fromUnixTimestamp64Milli(${T0 + 5}, 'UTC'), map('x', inf, 'mixed', 2.5), 'p')`,
  });
  const labels = Array.from({ length: 500 }, (_, i) =>
    JSON.stringify({
      prediction_id: `rs-${i * 3}`,
      model_id: i % 2 === 0 ? 'rs' : '',
      label: i % 9 === 0 ? 'unknown' : String(i % 5),
      label_num: i % 9 === 0 ? null : i % 5,
      timestamp: T0 + i,
    }),
  );
  await db.insertJsonEachRow('labels', Buffer.from(labels.join('\n')));
}

/** Columns in one order, texts as sorted entries, numbers as plain arrays (Object.is per element via toEqual). */
function normalized(columns: readonly RawColumn[]) {
  return [...columns]
    .map((c) => ({
      key: `${c.role}:${c.column}`,
      numbers: Array.from(c.numbers),
      texts: [...c.texts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    }))
    .sort((a, b) => (a.key < b.key ? -1 : 1));
}

async function leftoverFiles(): Promise<string[]> {
  const names = await readdir('/dev/shm').catch(() => [] as string[]);
  return names.filter((n) => n.startsWith(`modelwatch-native-${process.pid}-`));
}

describe('a reference sample from a range, gathered once', () => {
  it('holds exactly what copying inside the engine and reading the table back gives, and stores the same', async () => {
    const service = await startTestService();
    const db = service.platform.db;
    await seed(service);
    const range = { from: T0, to: T0 + HOUR };
    await copyRawColumnsFromRange(db, key, 1, range.from, range.to);
    const copied = await readRawColumns(db, key, 1);

    const seen: unknown[] = [];
    const sampled = await sampleRange(db, {
      key,
      revision: 2,
      ...range,
      maxNameLength: 256,
      check: (found) => seen.push(found),
    });
    const expected = normalized(copied);
    expect(normalized(sampled)).toEqual(expected);
    expect(normalized(await readRawColumns(db, key, 2))).toEqual(expected);
    // The roles are all there: features, prediction (numbers and text), score, label.
    expect(expected.map((c) => c.key)).toEqual([
      'feature:c',
      'feature:mixed',
      'feature:tie',
      'feature:x',
      'feature:z',
      'label:label',
      'prediction:prediction',
      'score:score',
    ]);
    // The stored Infinity is a missing value, as everywhere values are read.
    expect(sampled.find((c) => c.column === 'x')!.numbers.every(Number.isFinite)).toBe(true);
    expect(seen).toEqual([{ features: 5, longName: undefined }]);
    expect(await leftoverFiles()).toEqual([]);
  });

  it('writes nothing and leaves no file behind when the check refuses the range', async () => {
    const service = await startTestService();
    const db = service.platform.db;
    await seed(service);
    await expect(
      sampleRange(db, {
        key,
        revision: 3,
        from: T0,
        to: T0 + HOUR,
        maxNameLength: 256,
        check: () => {
          throw new Error('refused');
        },
      }),
    ).rejects.toThrow('refused');
    expect(await readRawColumns(db, key, 3)).toEqual([]);
    expect(await leftoverFiles()).toEqual([]);
  });
});

describe('rangeColumns', () => {
  const column = (role: RawColumn['role'], name: string): RawColumn => ({
    role,
    column: name,
    numbers: new Float64Array(0),
    texts: new Map(),
  });
  it('counts feature columns only and reports the longest name past the limit by its start', () => {
    const long = 'n'.repeat(300);
    expect(
      rangeColumns(
        [column('feature', 'a'), column('feature', long), column('prediction', 'prediction')],
        256,
      ),
    ).toEqual({ features: 2, longName: { name: 'n'.repeat(100), length: 300 } });
    expect(rangeColumns([column('feature', 'a'), column('label', 'x'.repeat(999))], 256)).toEqual({
      features: 1,
      longName: undefined,
    });
  });
});
