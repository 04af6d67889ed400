/**
 * Windows and range references sort each column's values in the aggregate (`groupArraySorted`),
 * which keeps at most `SORTED_AGGREGATE_LIMIT` values a group. A column can only be that long in
 * a window of fewer predictions when a map holds a key twice; such a column, or any in a range
 * whose size is not known beforehand, must be read again with the array's sort, so that no value
 * is lost. Here one feature holds 1,000 values a row over 16,800 rows: 16.8M values (~10 s alone,
 * ~25 s beside other files: in `npm run test:long`; `sortFor` and `mayBeCut` are unit-tested).
 */
import { describe, expect, it } from 'vitest';
import { drift } from '../../src/drift/index.js';
import { planColumns } from '../../src/drift/engine/evaluate.js';
import { driftSettings } from '../../src/drift/engine/settings.js';
import { columnKey } from '../../src/drift/engine/types.js';
import { queryNative } from '../../src/drift/store/native.js';
import { readRawColumns } from '../../src/drift/store/references.js';
import {
  numberSources,
  PARALLEL_GROUPS,
  SORTED_AGGREGATE_LIMIT,
  sortedQuery,
} from '../../src/drift/store/sql.js';
import { readWindows } from '../../src/drift/store/windows.js';
import { models } from '../../src/models/index.js';
import { startTestService } from '../support/service.js';

const T0 = Date.UTC(2026, 8, 1);
const HOUR = 3_600_000;
const ROWS = 16_800;
const REPEATS = 1_000;
const key = { modelId: 'long-column', version: '1' };
const range = { from: T0, to: T0 + HOUR };

/** Every value of `dup` (inserted from the largest down), ascending: 0 … ROWS × REPEATS − 1. */
function expectAllValues(numbers: Float64Array | undefined): void {
  expect(numbers?.length).toBe(ROWS * REPEATS);
  const values = numbers!;
  let ascending = true;
  for (let i = 0; i < values.length; i++) if (values[i] !== i) ascending = false;
  expect(ascending).toBe(true);
}

describe('a column longer than the aggregate sort keeps', () => {
  it('is read again with the array sort, in a range reference and in a window', async () => {
    const service = await startTestService();
    const db = service.platform.db;
    await service.use(models).registry.registerSeen([{ ...key, task: 'regression', firstSeen: T0 }]);
    await db.client.command({
      query: `INSERT INTO predictions (model_id, model_version, prediction_id, timestamp, features_num, prediction)
        SELECT {model:String}, {version:String}, concat('p', toString(number)),
          fromUnixTimestamp64Milli(toInt64(${T0} + number * 100), 'UTC'),
          mapFromArrays(arrayConcat(arrayMap(i -> 'dup', range(${REPEATS})), ['once']),
            arrayConcat(arrayMap(i -> toFloat64(${ROWS * REPEATS - 1} - (number * ${REPEATS} + i)), range(${REPEATS})), [toFloat64(number)])),
          'p'
        FROM numbers(${ROWS})`,
      query_params: { model: key.modelId, version: key.version },
    });
    // The aggregate's sort alone cuts the column: what the reads below must not keep.
    const [source] = numberSources({ features: 'all', prediction: false, score: false, label: false }, '0');
    const cut = await queryNative(db, `${sortedQuery(source!, 'aggregate')} ${PARALLEL_GROUPS}`, {
      model: key.modelId,
      version: key.version,
      ...range,
    });
    expect(cut.find((row) => row['column'] === 'dup')?.['values']).toHaveLength(SORTED_AGGREGATE_LIMIT);

    const { service: driftService } = service.use(drift);
    await driftService.setReference(key, range, 'test');
    const reference = (await driftService.reference(key))!;
    const stored = await readRawColumns(db, key, reference.revision);
    expectAllValues(stored.find((c) => c.column === 'dup')?.numbers);
    expect(stored.find((c) => c.column === 'once')?.numbers).toHaveLength(ROWS);

    const plans = planColumns(reference, driftSettings({}), 'ks');
    for (const numbersInFile of [false, true]) {
      const windows = [];
      for await (const sample of readWindows(db, {
        key,
        ...range,
        window: undefined,
        plans,
        numbersInFile,
      })) {
        const column = sample.columns.get(columnKey('feature', 'dup'));
        const numbers = column?.pending ? await column.pending.read() : column?.sorted;
        expectAllValues(numbers);
        expect(column?.pending?.sorted ?? true).toBe(true);
        windows.push(sample.count);
        sample.release?.();
      }
      expect(windows).toEqual([ROWS]);
    }
  });
});
