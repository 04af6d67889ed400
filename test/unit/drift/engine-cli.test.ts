import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runDriftCommand } from '../../../src/drift/offline/command.js';
import { closeOfflineDatabase } from '../../../src/drift/offline/file-read.js';

const fixtures = path.resolve(import.meta.dirname, '../../fixtures/drift');
const reference = path.join(fixtures, 'california_housing_reference.csv');
const current = path.join(fixtures, 'california_housing_analysis.csv');
const dir = mkdtempSync(path.join(tmpdir(), 'modelwatch-drift-cli-'));
afterAll(async () => {
  await closeOfflineDatabase();
  rmSync(dir, { recursive: true, force: true });
});

async function cli(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runDriftCommand(args, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    interactive: false,
  });
  return { code, stdout, stderr };
}

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

interface Report {
  model_id: string;
  buckets: {
    start: string | null;
    end: string | null;
    count: number;
    drift_share: number;
    dataset_drift: boolean;
    columns: {
      column: string;
      method: string;
      statistic: number | null;
      p_value: number | null;
      drifted: boolean;
    }[];
  }[];
}

describe('modelwatch drift (offline)', () => {
  it('--format json prints the drift route shape, with SciPy values for the California data', async () => {
    const { code, stdout } = await cli([
      '--reference',
      reference,
      '--current',
      current,
      '--columns',
      'Latitude,MedInc,y_pred',
      '--method',
      'ks',
      '--format',
      'json',
    ]);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as Report;
    expect(report.model_id).toBe('offline');
    expect(report.buckets).toHaveLength(1);
    const [bucket] = report.buckets;
    expect(bucket).toMatchObject({
      start: null,
      end: null,
      count: 8232,
      drift_share: 1,
      dataset_drift: true,
    });
    const col = (name: string) => bucket!.columns.find((c) => c.column === name)!;
    // scipy.stats.ks_2samp(ref['MedInc'], cur['MedInc'], method='exact') → (0.06874657564377896, 1.7878339253048155e-14)
    expect(col('MedInc').statistic).toBeCloseTo(0.06874657564377896, 14);
    expect(col('MedInc').p_value! / 1.7878339253048155e-14).toBeCloseTo(1, 9);
    // ks_2samp(ref['Latitude'], cur['Latitude'], method='exact') → (0.5070241794542626, 0.0)
    expect(col('Latitude')).toMatchObject({ method: 'ks', p_value: 0, drifted: true });
    expect(col('Latitude').statistic).toBeCloseTo(0.5070241794542626, 14);
    // y_pred has 2 values: categorical; ks does not apply, so auto: 5832 reference rows → jensenshannon.
    // scipy.spatial.distance.jensenshannon(p_ref, p_cur) over the 0/1 counts → 0.17815874114575717
    expect(col('y_pred')).toMatchObject({ method: 'jensenshannon', drifted: true });
    expect(col('y_pred').statistic).toBeCloseTo(0.17815874114575717, 14);
  });

  it('buckets the current file by its timestamp column', async () => {
    const { stdout } = await cli([
      '--reference',
      reference,
      '--current',
      current,
      '--columns',
      'Latitude,Longitude,MedInc',
      '--timestamp-column',
      'timestamp',
      '--bucket',
      'month',
      '--format',
      'json',
    ]);
    const report = JSON.parse(stdout) as Report;
    expect(report.buckets.map((b) => b.start)).toEqual(
      [
        '2021-06',
        '2021-07',
        '2021-08',
        '2021-09',
        '2021-10',
        '2021-11',
        '2021-12',
        '2022-01',
        '2022-02',
        '2022-03',
        '2022-04',
        '2022-05',
      ].map((m) => `${m}-01T00:00:00.000Z`),
    );
    expect(report.buckets[0]!.end).toBe('2021-07-01T00:00:00.000Z');
    expect(report.buckets.reduce((s, b) => s + b.count, 0)).toBe(8232);
    expect(report.buckets.every((b) => b.columns.find((c) => c.column === 'Latitude')!.drifted)).toBe(true);
  });

  it('--format table (the default) marks drifted columns, most severe first', async () => {
    const { code, stdout } = await cli([
      '--reference',
      reference,
      '--current',
      current,
      '--columns',
      'Latitude,Longitude,AveBedrms,Population',
    ]);
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toBe(
      'reference california_housing_reference.csv (5832 rows), current california_housing_analysis.csv (8232 rows)',
    );
    expect(lines[2]).toBe('all rows  rows 8232  drifted features 2/4 (50%)  dataset drift: YES');
    expect(lines[3]).toMatch(/^\s+column\s+kind\s+method\s+statistic\s+p-value\s+threshold\s+values$/);
    expect(lines.slice(4, 8).map((l) => l.trim().split(/\s+/).slice(0, 2))).toEqual([
      ['DRIFT', 'Longitude'],
      ['DRIFT', 'Latitude'],
      ['Population', 'numerical'],
      ['AveBedrms', 'numerical'],
    ]);
  });

  it('reads JSONL and mixed columns (the Titanic data: text, numeric categories, gaps)', async () => {
    const jsonl = file(
      'titanic.jsonl',
      [
        { Sex: 'male', Pclass: 3, Age: 30 },
        { Sex: 'female', Pclass: 1, Age: null },
        { Sex: 'male', Pclass: 2, Age: 41.5 },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const { stdout } = await cli([
      '--reference',
      path.join(fixtures, 'titanic_reference.csv'),
      '--current',
      jsonl,
      '--columns',
      'Sex,Pclass,Age',
      '--format',
      'json',
    ]);
    const columns = (JSON.parse(stdout) as Report).buckets[0]!.columns;
    expect(columns.map((c) => [c.column, c.method])).toEqual([
      ['Age', 'ks'],
      ['Pclass', 'chi2'],
      ['Sex', 'chi2'],
    ]);
  });

  it('fails with one clear line on a bad file', async () => {
    await expect(cli(['--reference', path.join(dir, 'missing.csv'), '--current', current])).rejects.toThrow(
      'missing.csv: cannot read it (ENOENT)',
    );
    await expect(cli(['--reference', file('data.txt', 'a\n1\n'), '--current', current])).rejects.toThrow(
      "data.txt: unknown file type '.txt'; use .csv, .jsonl or .ndjson",
    );
    await expect(
      cli(['--reference', file('inf.csv', 'a,b\n1,x\ninf,y\n'), '--current', current]),
    ).rejects.toThrow("inf.csv:3.a: 'inf' is not a finite number");
    await expect(
      cli(['--reference', file('bad.jsonl', '{"a":1}\n{oops\n'), '--current', current]),
    ).rejects.toThrow('bad.jsonl:2: not valid JSON');
    await expect(
      cli(['--reference', file('big.jsonl', '{"a":1e999}\n'), '--current', current]),
    ).rejects.toThrow('big.jsonl:1.a: must be a finite number, got Infinity');
    await expect(
      cli(['--reference', file('ragged.csv', 'a,b\n1,2,3\n'), '--current', current]),
    ).rejects.toThrow(/^ragged\.csv: not valid CSV/);
    await expect(cli(['--reference', file('empty.csv', 'a,b\n'), '--current', current])).rejects.toThrow(
      'empty.csv: no rows',
    );
  });

  it('rejects bad options', async () => {
    await expect(cli(['--reference', reference])).rejects.toThrow(/^--reference and --current are required/);
    await expect(cli(['--reference', reference, '--current', current, '--bucket', '1h'])).rejects.toThrow(
      '--bucket needs --timestamp-column',
    );
    await expect(cli(['--reference', reference, '--current', current, '--method', 'mmd'])).rejects.toThrow(
      /^--method must be one of auto, ks/,
    );
    await expect(cli(['--reference', reference, '--current', current, '--format', 'xml'])).rejects.toThrow(
      "--format must be json, table or html, got 'xml'",
    );
    await expect(
      cli(['--reference', reference, '--current', current, '--format', 'html', '--out', '/proc/nope/r.html']),
    ).rejects.toThrow(/^--out: cannot write \/proc\/nope\/r\.html: ENOENT/);
    await expect(cli(['--reference', reference, '--current', current, '--out', ''])).rejects.toThrow(
      /^--out must name a file/,
    );
    await expect(cli(['--reference', reference, '--current', current, '--columns', 'Nope'])).rejects.toThrow(
      "--columns: 'Nope' has no values in california_housing_reference.csv",
    );
    await expect(
      cli(['--reference', reference, '--current', current, '--timestamp-column', 'MedInc', '--bucket', '1d']),
    ).rejects.toThrow(
      "california_housing_analysis.csv:2.MedInc: '3.4583' is not an ISO-8601 time or epoch milliseconds",
    );
  });
});
