import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readQualityCounts } from '../../src/drift/quality/read.js';
import { MAX_NEW_COLUMNS } from '../../src/drift/quality/settings.js';
import type { QualityReferenceColumn } from '../../src/drift/quality/types.js';
import { migrate, openDatabase, type Database } from '../../src/platform/clickhouse/index.js';
import { allMigrations } from '../support/migrations.js';

const T0 = Date.UTC(2026, 5, 1);
const ROWS = 2_000;
const key = { modelId: 'flood', version: '1' };

const reference: QualityReferenceColumn[] = [
  {
    column: 'x',
    valueType: 'number',
    kind: 'numerical',
    missingRate: 0,
    hadValues: true,
  },
];

describe('a window flooded with new feature keys', () => {
  let db: Database;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'modelwatch-quality-flood-'));
    db = await openDatabase({ url: undefined, cluster: undefined, database: 'quality_flood', dataDir });
    await migrate(db, allMigrations);
    // Every row: the reference's x, five keys no other row has (10,000 in all, numbers and texts),
    // `often` in every other row and `sometimes` in every fifth (split between numbers and texts).
    const rows = Array.from({ length: ROWS }, (_, i) => {
      const num: Record<string, number> = { x: i / ROWS };
      const str: Record<string, string> = {};
      for (let j = 0; j < 5; j++) (j % 2 === 0 ? num : str)[`id_${i}_${j}`] = j % 2 === 0 ? j : `v${j}`;
      if (i % 2 === 0) num['often'] = i;
      if (i % 5 === 0) (i % 10 === 0 ? num : str)['sometimes'] = i % 10 === 0 ? 1 : 'one';
      return JSON.stringify({
        model_id: key.modelId,
        model_version: key.version,
        prediction_id: `f-${i}`,
        timestamp: T0 + i * 1000,
        features_num: num,
        features_str: str,
        prediction: '1',
        is_error: false,
      });
    });
    await db.insertJsonEachRow('predictions', Buffer.from(rows.join('\n')));
  });

  afterAll(async () => {
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('reads the reference columns and only the most frequent new keys, their counts exact', async () => {
    const [window, ...more] = await readQualityCounts(db, {
      key,
      revision: 1,
      from: T0,
      to: T0 + ROWS * 1000,
      window: undefined,
      reference,
    });
    expect(more).toEqual([]);
    expect(window?.count).toBe(ROWS);
    const columns = window!.columns;
    // The 10,000 one-row keys are not all read: at most MAX_NEW_COLUMNS new keys come back.
    expect(columns.size).toBe(1 + MAX_NEW_COLUMNS);
    expect(columns.get('x')).toMatchObject({ numbers: ROWS, texts: 0 });
    expect(columns.get('often')).toMatchObject({ numbers: ROWS / 2, texts: 0 });
    // Counted across both maps: 200 numbers and 200 texts rank it above every one-row key.
    expect(columns.get('sometimes')).toMatchObject({ numbers: ROWS / 10, texts: ROWS / 10 });
    const oneRow = [...columns].filter(([c]) => c.startsWith('id_'));
    expect(oneRow).toHaveLength(MAX_NEW_COLUMNS - 2);
    for (const [, c] of oneRow) expect(c.numbers + c.texts).toBe(1);
  });
});
