import { describe, expect, it } from 'vitest';
import type { QualityBucket } from '../../src/drift/quality/types.js';
import { produce, waitFor } from '../support/harness.js';
import { startTestService } from '../support/service.js';
import { DAY, corruptedTitanicDays, titanicCsv, titanicFeatures } from '../support/titanic.js';
import { send } from '../support/registry.js';

/**
 * The categorical side of data quality on the Titanic data (test/fixtures/drift/README.md): the
 * 418 analysis rows through Kafka as two days; the second day is corrupted: a new Embarked
 * category, Pclass as text and Sex as a number (wrong types), an SibSp count never seen, Fare
 * gone, a new `deck` column. The first day is left as it is.
 */
const T0 = Date.UTC(2026, 2, 2);

describe('data quality on the Titanic data', () => {
  it('flags unseen categories, wrong types, a new column and a column gone, only where injected', async () => {
    // A small answer limit, to see the route refuse a bucket that would exceed it.
    const service = await startTestService({ MODELWATCH_DRIFT_MAX_RESPONSE_CELLS: '1000' });
    const predictions = corruptedTitanicDays({ modelId: 'titanic', idPrefix: 't-', start: T0 });
    await produce(service.config.topics.predictions, predictions, (i) => `t-${i}`);
    await waitFor('the analysis rows stored', async () => {
      const [row] = await service.rows<{ p: number }>('SELECT count() AS p FROM predictions FINAL');
      return Number(row?.p) === predictions.length ? true : undefined;
    });
    const url = `/api/v1/models/titanic/quality?from=${T0}&to=${T0 + 2 * DAY}&bucket=1d`;
    // Without a reference there is nothing to measure against.
    expect((await send(service, 'GET', url)).status).toBe(409);
    const reference = titanicCsv('titanic_reference.csv').map(titanicFeatures);
    expect(
      (await send(service, 'PUT', '/api/v1/models/titanic/versions/1/reference', { rows: reference })).status,
    ).toBe(200);

    const response = await send(service, 'GET', url);
    expect(response.status).toBe(200);
    const [clean, corrupted] = (response.body as unknown as { buckets: QualityBucket[] }).buckets;
    expect(clean!.count + corrupted!.count).toBe(418);
    expect(clean!.columns.filter((c) => c.flagged)).toEqual([]);
    const column = (b: QualityBucket, name: string) => b.columns.find((c) => c.column === name)!;
    const n = corrupted!.count;
    expect(
      Object.fromEntries(corrupted!.columns.filter((c) => c.flagged).map((c) => [c.column, c.flags])),
    ).toEqual({
      Embarked: ['unseen'],
      Pclass: ['wrong_type'],
      SibSp: ['unseen'],
      Sex: ['wrong_type'],
      Fare: ['missing', 'column_missing'],
      deck: ['new_column'],
    });
    const every = (step: number, at: number) => Math.ceil((n - at) / step);
    expect(column(corrupted!, 'Embarked')).toMatchObject({
      kind: 'categorical',
      value_type: 'text',
      top_unseen: [{ value: 'X', count: every(5, 0) }],
    });
    expect(column(corrupted!, 'Embarked').unseen_share).toBeCloseTo(every(5, 0) / n, 12);
    expect(column(corrupted!, 'Pclass').wrong_type_share).toBeCloseTo(every(10, 1) / n, 12);
    expect(column(corrupted!, 'Sex').wrong_type_share).toBeCloseTo(every(10, 3) / n, 12);
    expect(column(corrupted!, 'SibSp').top_unseen).toEqual([{ value: '20', count: every(10, 2) }]);
    expect(column(corrupted!, 'Fare')).toMatchObject({ status: 'gone', values: 0, missing_rate: 1 });
    expect(column(corrupted!, 'deck')).toMatchObject({ status: 'new', values: n, missing_rate: 0 });
    // Real data, not injected: Parch 9 (twice) never occurs in the reference; 1% is under the 5% threshold.
    expect(column(corrupted!, 'Parch')).toMatchObject({
      top_unseen: [{ value: '9', count: 2 }],
      flagged: false,
    });
    // Age's missing rate (20-21%) is the reference's (19.9%): not flagged.
    expect(column(clean!, 'Age').missing_rate).toBeGreaterThan(0.19);

    // ~418 five-minute buckets × 7 columns is over the 1000-cell limit; the rest are the drift route's checks.
    const fine = await send(service, 'GET', url.replace('bucket=1d', 'bucket=5m'));
    expect(fine.status).toBe(400);
    expect(fine.body['message']).toMatch(/buckets × 7 columns = \d+ cells; at most 1000/);
    // ~137 21-minute buckets × 7 reference columns pass that count; the corrupted day's new `deck`
    // column in each of its buckets takes the answer itself over it.
    const wide = await send(service, 'GET', url.replace('bucket=1d', 'bucket=21m'));
    expect(wide.status).toBe(400);
    expect(wide.body['message']).toMatch(
      /the answer would hold 10\d\d cells \(13\d buckets × their reference and new columns\); at most 1000/,
    );
    expect((await send(service, 'GET', `${url}&version=9`)).status).toBe(404);
    expect((await send(service, 'GET', url.replace('bucket=1d', 'bucket=1x'))).status).toBe(400);
    expect((await send(service, 'GET', `${url}&to=99999999999999999`)).status).toBe(400);
    expect((await send(service, 'GET', '/api/v1/models/nobody/quality')).status).toBe(404);

    // A lower bar flags Parch's real unseen category; the policy is validated field by field.
    const bad = await send(service, 'PUT', '/api/v1/models/titanic/policy', { quality: { unseen_share: 2 } });
    expect(bad.status).toBe(400);
    expect(bad.body['message']).toContain('quality.unseen_share');
    const unknown = await send(service, 'PUT', '/api/v1/models/titanic/policy', { quality: { nulls: 0.1 } });
    expect(unknown.status).toBe(400);
    expect(unknown.body['message']).toContain("unknown field 'nulls'");
    const wrong = await send(service, 'PUT', '/api/v1/models/titanic/policy', {
      quality: { new_columns: [] },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body['message']).toContain('body/quality/new_columns');
    const policy = await send(service, 'PUT', '/api/v1/models/titanic/policy', {
      quality: { unseen_share: 0.005, new_columns: false },
    });
    expect(policy.status).toBe(200);
    const lowered = (await send(service, 'GET', url)).body as unknown as { buckets: QualityBucket[] };
    expect(column(lowered.buckets[1]!, 'Parch').flags).toEqual(['unseen']);
    expect(column(lowered.buckets[1]!, 'deck').flagged).toBe(false);
  });
});
