import { describe, expect, it } from 'vitest';
import { produce, waitFor } from '../support/harness.js';
import { startTestService, type TestService } from '../support/service.js';
import { DAY, corruptedTitanicDays, titanicCsv, titanicFeatures } from '../support/titanic.js';

/**
 * The data-quality section of the HTML drift report, on quality-titanic.test.ts's data: the 418
 * Titanic analysis rows through Kafka as two days, the second corrupted (a new Embarked category,
 * Pclass as text, Sex as a number, an SibSp count never seen, Fare gone, a new `deck` column and
 * a new column whose name is markup). The report must show those flags on day 1 and none on day 0.
 */
const T0 = Date.UTC(2026, 2, 9);
const HOSTILE = '<img src=x onerror=alert(1)>';

async function get(service: TestService, url: string) {
  const response = await service.app.inject({
    method: 'GET',
    url,
    headers: { authorization: `Bearer ${service.config.api.adminKey ?? ''}` },
  });
  return { status: response.statusCode, body: response.body };
}

interface Window {
  start: string;
  flagged: number;
  /** Flagged checks by column, from the cells marked as flags. */
  flags: Record<string, string[]>;
  columns: string[];
}

/** The quality windows of a report page, as its static HTML shows them. */
function qualityWindows(html: string): Window[] {
  const section = /<section id="data-quality"[^>]*>([\s\S]*?)<\/section>/.exec(html);
  expect(section, 'the data-quality section').not.toBeNull();
  return section![1]!
    .split('<div class="quality-window" ')
    .slice(1)
    .map((part) => {
      const head = /^data-start="([^"]+)" data-flagged="(\d+)"/.exec(part)!;
      const rows = [...part.matchAll(/<tr data-column="([^"]*)"[^>]*>([\s\S]*?)<\/tr>/g)];
      const flags: Record<string, string[]> = {};
      for (const [, column, cells] of rows) {
        const checks = [...cells!.matchAll(/data-check="([a-z_]+)" class="flag"/g)].map((m) => m[1]!);
        if (checks.length > 0) flags[column!] = checks;
      }
      return { start: head[1]!, flagged: Number(head[2]), flags, columns: rows.map((r) => r[1]!) };
    });
}

describe('the HTML drift report shows data quality', () => {
  it('flags the injected corruption in its window, nothing in the clean one, and escapes column names', async () => {
    const service = await startTestService();
    const predictions = corruptedTitanicDays({
      modelId: 'titanic-report',
      idPrefix: 'qr-',
      start: T0,
      corruptMore: (f, k) => {
        if (k % 2 === 0) f[HOSTILE] = 1;
      },
    });
    await produce(service.config.topics.predictions, predictions, (i) => `qr-${i}`);
    await waitFor('the analysis rows stored', async () => {
      const [row] = await service.rows<{ p: number }>('SELECT count() AS p FROM predictions FINAL');
      return Number(row?.p) === predictions.length ? true : undefined;
    });
    const reference = titanicCsv('titanic_reference.csv').map(titanicFeatures);
    const put = await service.app.inject({
      method: 'PUT',
      url: '/api/v1/models/titanic-report/versions/1/reference',
      payload: { rows: reference },
      headers: { authorization: `Bearer ${service.config.api.adminKey ?? ''}` },
    });
    expect(put.statusCode).toBe(200);

    const range = `from=${T0}&to=${T0 + 2 * DAY}`;
    const report = await get(service, `/api/v1/models/titanic-report/drift/report?${range}&bucket=1d`);
    expect(report.status).toBe(200);
    // The quality route's own answer is what the page must show.
    const route = await get(service, `/api/v1/models/titanic-report/quality?${range}&bucket=1d`);
    const buckets = (
      JSON.parse(route.body) as {
        buckets: { start: string; columns: { column: string; flags: string[] }[] }[];
      }
    ).buckets;
    expect(buckets).toHaveLength(2);

    const windows = qualityWindows(report.body);
    // Latest first.
    expect(windows.map((w) => w.start)).toEqual([buckets[1]!.start, buckets[0]!.start]);
    const [corrupted, clean] = windows;
    expect(clean!.flagged).toBe(0);
    expect(clean!.flags).toEqual({});
    expect(report.body).toContain('no quality flags');
    const escaped = HOSTILE.replaceAll('<', '&lt;').replaceAll('>', '&gt;');
    expect(corrupted!.flags).toEqual({
      Embarked: ['unseen'],
      Pclass: ['wrong_type'],
      SibSp: ['unseen'],
      Sex: ['wrong_type'],
      Fare: ['column_missing', 'missing'],
      deck: ['new_column'],
      [escaped]: ['new_column'],
    });
    expect(corrupted!.flagged).toBe(7);
    // Every column of the route's window is a row, in the route's order; flags equal the route's.
    expect(corrupted!.columns).toEqual(
      buckets[1]!.columns.map((c) => c.column.replaceAll('<', '&lt;').replaceAll('>', '&gt;')),
    );
    for (const c of buckets[1]!.columns)
      expect(
        [...(corrupted!.flags[c.column.replaceAll('<', '&lt;').replaceAll('>', '&gt;')] ?? [])].sort(),
        c.column,
      ).toEqual([...c.flags].sort());
    // The unseen category is named with its count; the markup column name never appears raw.
    expect(report.body).toMatch(/<span class="top">X \(\d+\)<\/span>/);
    expect(report.body).not.toContain(HOSTILE);
    expect(report.body).toContain('<section id="data-quality" class="quality" data-flagged-windows="1">');

    // A stricter policy moves the flags; the thresholds shown are the policy's.
    const policy = await service.app.inject({
      method: 'PUT',
      url: '/api/v1/models/titanic-report/policy',
      payload: { quality: { unseen_share: 0.005, new_columns: false } },
      headers: { authorization: `Bearer ${service.config.api.adminKey ?? ''}` },
    });
    expect(policy.statusCode).toBe(200);
    const stricter = await get(service, `/api/v1/models/titanic-report/drift/report?${range}&bucket=1d`);
    const [latest] = qualityWindows(stricter.body);
    expect(latest!.flags['Parch']).toEqual(['unseen']);
    expect(latest!.flags['deck']).toBeUndefined();
    expect(stricter.body).toContain('unseen categories over 0.5%');

    // Without a bucket: one window over the whole range, holding day 1's flags.
    const whole = qualityWindows(
      (await get(service, `/api/v1/models/titanic-report/drift/report?${range}`)).body,
    );
    expect(whole).toHaveLength(1);
    expect(Object.keys(whole[0]!.flags)).toEqual(expect.arrayContaining(['Embarked', 'Fare', 'Pclass']));
  }, 300_000);
});
