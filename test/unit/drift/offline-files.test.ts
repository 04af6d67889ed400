import { mkdtempSync, symlinkSync, rmSync, statSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { runDriftCommand } from '../../../src/drift/offline/command.js';
import { readRows } from '../../../src/drift/offline/read-rows.js';
import { UsageError } from '../../../src/platform/cli/index.js';
import {
  closeOfflineDatabase,
  offlineDatabase,
  readFileColumns,
} from '../../../src/drift/offline/file-read.js';
import {
  alignCategoryCounts,
  categoricalDrift,
  ksPValue,
  ksStatistic,
  normalizedWasserstein,
} from '../../../src/drift/statistics/index.js';

const dir = mkdtempSync(path.join(tmpdir(), 'modelwatch-drift-files-'));
afterAll(async () => {
  await closeOfflineDatabase();
  rmSync(dir, { recursive: true, force: true });
});

async function cli(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runDriftCommand([...args, '--format', 'json'], {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    interactive: false,
  });
  return { code, stderr, report: JSON.parse(stdout) as Report };
}

interface Column {
  column: string;
  role: string;
  kind: string;
  method: string;
  statistic: number | null;
  p_value: number | null;
  count: number;
}
interface Report {
  reference: { rows: number };
  current: { rows: number };
  buckets: { count: number; columns: Column[] }[];
}

const at = (name: string) => path.join(dir, name);
const col = (report: Report, name: string) => report.buckets[0]!.columns.find((c) => c.column === name)!;

/** Deterministic pseudo-random numbers (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function csv(name: string, header: string[], rows: (string | number)[][]): string {
  writeFileSync(at(name), [header.join(','), ...rows.map((r) => r.join(','))].join('\n') + '\n');
  return at(name);
}

describe('modelwatch drift reading files with the engine', () => {
  it('reads Parquet written by the engine itself, with the same results as the same data in CSV', async () => {
    const db = await offlineDatabase();
    for (const [name, shift] of [
      ['ref', 0],
      ['cur', 0.3],
    ] as const) {
      const select = `SELECT number AS id, sin(number * 1.7) * 3 + ${shift} AS x, if(number % 3 = 0, 'a', 'b') AS s, number % 4 = 0 AS flag
        FROM numbers(3000)`;
      await db.client.command({
        query: `INSERT INTO FUNCTION file('${at(`${name}.parquet`)}', 'Parquet') ${select}`,
      });
      await db.client.command({
        query: `INSERT INTO FUNCTION file('${at(`${name}.csv`)}', 'CSVWithNames') ${select}`,
      });
    }
    const parquet = await cli([
      '--reference',
      at('ref.parquet'),
      '--current',
      at('cur.parquet'),
      '--method',
      'ks',
    ]);
    const fromCsv = await cli(['--reference', at('ref.csv'), '--current', at('cur.csv'), '--method', 'ks']);
    expect(parquet.report.reference.rows).toBe(3000);
    expect(col(parquet.report, 'x')).toMatchObject({ kind: 'numerical', method: 'ks', count: 3000 });
    expect(col(parquet.report, 'x').statistic).toBeGreaterThan(0);
    // 3000 reference rows: ks does not apply to categories, and auto picks jensenshannon above 1000.
    expect(col(parquet.report, 'flag')).toMatchObject({ kind: 'categorical', method: 'jensenshannon' });
    // CSV writes booleans as true/false too, so every column agrees exactly.
    expect(parquet.report.buckets).toEqual(fromCsv.report.buckets);
  });

  it('names the first refused value of a Parquet number column, at either end of the sorted values', async () => {
    const db = await offlineDatabase();
    // Row 8 (0-based 7) holds -inf in y, row 13 +inf in x: both sort to an end of their column.
    await db.client.command({
      query: `INSERT INTO FUNCTION file('${at('inf.parquet')}', 'Parquet')
        SELECT number AS id, if(number = 12, inf, number / 3) AS x, if(number = 7, -inf, number * 2.5) AS y FROM numbers(20)`,
    });
    await db.client.command({
      query: `INSERT INTO FUNCTION file('${at('fine.parquet')}', 'Parquet')
        SELECT number AS id, number / 3 AS x, number * 2.5 AS y, if(number % 5 = 0, nan, number - 9.5) AS z FROM numbers(20)`,
    });
    await expect(cli(['--reference', at('fine.parquet'), '--current', at('inf.parquet')])).rejects.toThrow(
      "inf.parquet: row 8, column 'y': the value is not allowed (a non-finite number, or a text score)",
    );
    await expect(
      cli(['--reference', at('fine.parquet'), '--current', at('inf.parquet'), '--columns', 'x']),
    ).rejects.toThrow("inf.parquet: row 13, column 'x': the value is not allowed");
    const fine = await cli([
      '--reference',
      at('fine.parquet'),
      '--current',
      at('inf.parquet'),
      '--columns',
      'id',
    ]);
    expect(fine.report.current.rows).toBe(20);
    // NaN is missing (the engine sorts it last, where the reader drops it), in Parquet and CSV alike.
    const nan = await cli([
      '--reference',
      at('fine.parquet'),
      '--current',
      at('fine.parquet'),
      '--columns',
      'z',
    ]);
    expect(col(nan.report, 'z')).toMatchObject({ count: 16, statistic: 0 });
    const cells = Array.from({ length: 20 }, (_, k) => [k % 5 === 0 ? (k % 10 === 0 ? 'nan' : '') : k - 9.5]);
    const fromCsv = await cli([
      '--reference',
      at('fine.parquet'),
      '--current',
      csv('nan.csv', ['z'], cells),
      '--columns',
      'z',
    ]);
    expect(fromCsv.report.buckets).toEqual(nan.report.buckets);
  });

  it('reports errors in the order of reading the reference first, though both files are read at once', async () => {
    const ok = csv('order-ok.csv', ['a'], [[1], [2]]);
    const badRef = csv('order-ref.csv', ['a'], [[1], ['inf']]);
    const badCur = csv('order-cur.csv', ['a'], [[1], ['-inf']]);
    await expect(cli(['--reference', badRef, '--current', badCur])).rejects.toThrow(
      "order-ref.csv:3.a: 'inf' is not a finite number",
    );
    await expect(
      cli(['--reference', ok, '--current', at('order-missing.csv'), '--columns', 'b']),
    ).rejects.toThrow("--columns: 'b' has no values in order-ok.csv");
    await expect(cli(['--reference', ok, '--current', badCur])).rejects.toThrow(
      "order-cur.csv:3.a: '-inf' is not a finite number",
    );
  });

  it('hands the sorted numbers over as views on the engine result, not copies (below and above 127 columns)', async () => {
    for (const width of [3, 130]) {
      const header = Array.from({ length: width }, (_, k) => `c${k}`);
      const file = csv(
        `views-${width}.csv`,
        header,
        Array.from({ length: 5 }, (_, r) => header.map((_, k) => r * 1.5 + k)),
      );
      const read = await readFileColumns(file, 'csv');
      expect(read.columns).toHaveLength(width);
      for (const { numbers } of read.columns) {
        expect(numbers).toHaveLength(5);
        expect(numbers.buffer.byteLength).toBeGreaterThan(numbers.byteLength);
      }
    }
  });

  it('reads a file of 10,000 columns without crashing', async () => {
    const header = Array.from({ length: 10_000 }, (_, k) => `c${k}`);
    const rows = Array.from({ length: 30 }, (_, r) => header.map((_, k) => (r * 7 + k) % 30));
    const ref = csv('wide-ref.csv', header, rows);
    const cur = csv(
      'wide-cur.csv',
      header,
      rows.map((r) => r.map((v) => v + 1)),
    );
    const { code, report } = await cli(['--reference', ref, '--current', cur]);
    expect(code).toBe(0);
    expect(report.buckets[0]!.columns).toHaveLength(10_000);
    expect(col(report, 'c9999')).toMatchObject({ kind: 'numerical', count: 30 });
  });

  it('keeps ties exact in large samples (KS and W1 as the statistics on the same values)', async () => {
    const next = random(7);
    const refValues = Array.from({ length: 120_000 }, () => Math.round((next() + next() + next()) * 20) / 10);
    const curValues = Array.from(
      { length: 90_000 },
      () => Math.round((next() + next() + next()) * 20 + 1) / 10,
    );
    const ref = csv(
      'ties-ref.csv',
      ['x'],
      refValues.map((v) => [v]),
    );
    const cur = csv(
      'ties-cur.csv',
      ['x'],
      curValues.map((v) => [v]),
    );
    const sortedR = Float64Array.from(refValues).sort();
    const sortedC = Float64Array.from(curValues).sort();
    const ks = col((await cli(['--reference', ref, '--current', cur, '--method', 'ks'])).report, 'x');
    const d = ksStatistic(sortedR, sortedC);
    expect(ks.statistic).toBe(d);
    expect(ks.p_value).toBe(ksPValue(d, sortedR.length, sortedC.length));
    const w1 = col(
      (await cli(['--reference', ref, '--current', cur, '--method', 'wasserstein'])).report,
      'x',
    );
    expect(w1.statistic).toBe(normalizedWasserstein(sortedR, sortedC));
  });

  it('counts a column of mixed numbers and text as categories, in CSV and JSONL alike', async () => {
    const ref = csv('mixed-ref.csv', ['m'], [[1], ['x'], [1], [2.5], ['x'], ['y'], ['']]);
    const lines = [{ m: 1 }, { m: 'x' }, { m: 'z' }, { m: 2.5 }, { m: null }, { m: 'x' }].map((r) =>
      JSON.stringify(r),
    );
    writeFileSync(at('mixed-cur.jsonl'), `${lines.join('\n')}\n`);
    const { report } = await cli(['--reference', ref, '--current', at('mixed-cur.jsonl'), '--method', 'psi']);
    const m = col(report, 'm');
    expect(m).toMatchObject({ kind: 'categorical', method: 'psi', count: 5 });
    const aligned = alignCategoryCounts(
      new Map([
        ['1', 2],
        ['x', 2],
        ['y', 1],
        ['2.5', 1],
      ]),
      new Map([
        ['1', 1],
        ['x', 2],
        ['z', 1],
        ['2.5', 1],
      ]),
    );
    expect(m.statistic).toBe(categoricalDrift('psi', aligned.ref, aligned.cur).statistic);
  });

  it('keeps the last value of a key repeated in one JSONL object, as JSON.parse does', async () => {
    const repeated = [
      '{"a":1,"a":50,"features":{"b":2,"b":7}}',
      '{"a":2,"a":60,"features":{"b":3,"b":8}}',
      '{"a":3,"a":70,"features":{"b":4,"b":9}}',
    ];
    const last = [
      { a: 50, b: 7 },
      { a: 60, b: 8 },
      { a: 70, b: 9 },
    ].map((r) => JSON.stringify(r));
    writeFileSync(at('repeated.jsonl'), `${repeated.join('\n')}\n`);
    writeFileSync(at('last.jsonl'), `${last.join('\n')}\n`);
    const ref = csv(
      'repeated-ref.csv',
      ['a', 'b'],
      [
        [50, 7],
        [55, 8],
        [65, 9],
        [1, 2],
      ],
    );
    const { report } = await cli(['--reference', ref, '--current', at('repeated.jsonl'), '--method', 'ks']);
    const { report: expected } = await cli([
      '--reference',
      ref,
      '--current',
      at('last.jsonl'),
      '--method',
      'ks',
    ]);
    expect(col(report, 'a')).toMatchObject({ count: 3 });
    expect(col(report, 'b')).toMatchObject({ count: 3 });
    expect(report.buckets).toEqual(expected.buckets);
  });

  it('reads a text cell far below the rows the engine infers CSV types from (all cells as text then)', async () => {
    const rows: (string | number)[][] = Array.from({ length: 30_000 }, (_, k) => [
      k % 50,
      k % 3 === 0 ? 'nan' : k / 7,
    ]);
    rows.push(['oops', 1]);
    const ref = csv('late-text.csv', ['m', 'y'], rows);
    const { report } = await cli(['--reference', ref, '--current', ref]);
    // 50 numbers and one text: categorical; NaN cells of y are missing.
    expect(col(report, 'm')).toMatchObject({ kind: 'categorical', count: 30_001 });
    expect(col(report, 'y')).toMatchObject({ kind: 'numerical', count: 20_001 });
  });

  it('streams a file larger than its memory limit when few columns are read, and names the limit when they do not fit', async () => {
    const file = at('large.csv');
    const out = createWriteStream(file);
    const filler = 'q'.repeat(200);
    out.write('x,note\n');
    for (let k = 0; k < 600_000; k++) out.write(`${k % 997},${filler}${k}\n`);
    await new Promise<void>((resolve) => out.end(resolve));
    expect(statSync(file).size).toBeGreaterThan(120 * 1024 ** 2);
    const small = csv(
      'small.csv',
      ['x', 'note'],
      [
        [1, 'a'],
        [500, 'b'],
        [900, 'c'],
      ],
    );
    const { report } = await cli([
      '--reference',
      small,
      '--current',
      file,
      '--columns',
      'x',
      '--max-memory',
      '100',
    ]);
    expect(report.current.rows).toBe(600_000);
    expect(col(report, 'x').count).toBe(600_000);
    await expect(cli(['--reference', small, '--current', file, '--max-memory', '100'])).rejects.toThrow(
      'large.csv: its values need more than the 100 MiB allowed (--max-memory); choose fewer columns (--columns) or a sample of the rows',
    );
  });

  it('bucketing by time: refuses a CSV header naming a column twice, and reads a JSONL file with a byte-order mark', async () => {
    const twice = csv('twice.csv', ['ts', 'a', 'a'], [['2026-01-01T00:00:00Z', 1, 100]]);
    await expect(cli(['--reference', twice, '--current', twice, '--timestamp-column', 'ts'])).rejects.toThrow(
      "twice.csv: the column 'a' appears twice in the header",
    );
    const rows = Array.from({ length: 20 }, (_, i) =>
      JSON.stringify({ ts: `2026-01-01T00:${String(i).padStart(2, '0')}:00Z`, a: i }),
    );
    writeFileSync(at('bom.jsonl'), `\ufeff${rows.join('\n')}\n`);
    const { report } = await cli([
      '--reference',
      at('bom.jsonl'),
      '--current',
      at('bom.jsonl'),
      '--timestamp-column',
      'ts',
    ]);
    expect([report.reference.rows, col(report, 'a').count]).toEqual([20, 20]);
  });

  it('refuses hostile values with the row and column named', async () => {
    writeFileSync(at('deep.jsonl'), `{"a":1}\n{"a":${'['.repeat(5000)}${']'.repeat(5000)}}\n`);
    const ok = csv('ok.csv', ['a'], [[1], [2]]);
    await expect(cli(['--reference', at('deep.jsonl'), '--current', ok])).rejects.toThrow(
      'deep.jsonl:2.a: must be a number, string, boolean or null, got an array',
    );
    const inf = csv(
      'inf2.csv',
      ['a', 'b'],
      [
        [1, 2],
        [3, '-Infinity'],
      ],
    );
    await expect(cli(['--reference', inf, '--current', ok])).rejects.toThrow(
      "inf2.csv:3.b: '-Infinity' is not a finite number",
    );
    await expect(cli(['--reference', ok, '--current', ok, '--max-memory', '0'])).rejects.toThrow(
      "--max-memory must be a whole number of MiB from 1 to 8589934591, got '0'",
    );
  });

  it('reads a JSONL file of 150,000 keys (push(...) of one argument per column overflowed the stack: "cannot read it as JSONL")', async () => {
    const keys = 150_000;
    const row = (r: number) =>
      JSON.stringify(Object.fromEntries(Array.from({ length: keys }, (_, i) => [`c${i}`, (i + r) % 3])));
    writeFileSync(at('wide.jsonl'), `${row(0)}\n${row(1)}\n${row(2)}\n`);
    const { report } = await cli(['--reference', at('wide.jsonl'), '--current', at('wide.jsonl')]);
    expect(report.buckets[0]!.columns).toHaveLength(keys);
    expect(col(report, 'c149999')).toMatchObject({
      kind: 'categorical',
      method: 'chi2',
      statistic: 0,
      count: 3,
    });
  }, 60_000);

  it('refuses a --max-memory whose bytes are no whole number (2^53 MiB was the engine setting 9.44e+21: "ok.csv: cannot read it as CSV")', async () => {
    const ok = csv('ok.csv', ['a'], [[1], [2]]);
    for (const mib of ['9007199254740991', '8589934592', '1e300']) {
      const err = await cli(['--reference', ok, '--current', ok, '--max-memory', mib]).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).toBe(
        `--max-memory must be a whole number of MiB from 1 to 8589934591, got '${mib}'`,
      );
    }
    // The largest one is a limit the engine takes.
    const { report } = await cli(['--reference', ok, '--current', ok, '--max-memory', '8589934591']);
    expect(report.current.rows).toBe(2);
  });

  it('reads a Parquet null as missing, as the same data in CSV with empty cells (not 0 or an empty text)', async () => {
    const db = await offlineDatabase();
    const select = (
      shift: number,
    ) => `SELECT if(number % 5 = 0, NULL, toNullable(number * 0.5 + ${shift})) AS x,
        if(number % 2 = 0, NULL, toNullable(if(number % 3 = 0, 'a', 'b'))) AS s FROM numbers(40)`;
    for (const [name, shift] of [
      ['nulls-ref', 0],
      ['nulls-cur', 1],
    ] as const) {
      await db.client.command({
        query: `INSERT INTO FUNCTION file('${at(`${name}.parquet`)}', 'Parquet') ${select(shift)}`,
      });
      await db.client.command({
        query: `INSERT INTO FUNCTION file('${at(`${name}.csv`)}', 'CSVWithNames') ${select(shift)}`,
      });
    }
    const args = (ext: string) => [
      '--reference',
      at(`nulls-ref.${ext}`),
      '--current',
      at(`nulls-cur.${ext}`),
      '--method',
      'ks',
    ];
    const parquet = await cli(args('parquet'));
    expect(col(parquet.report, 'x').count).toBe(32);
    expect(col(parquet.report, 's').count).toBe(20);
    expect(parquet.report.buckets).toEqual((await cli(args('csv'))).report.buckets);
  });

  it("reads file columns named like the reading queries' own aliases (r, n, v0000001) as the columns", async () => {
    const db = await offlineDatabase();
    await db.client.command({
      query: `INSERT INTO FUNCTION file('${at('alias-ref.parquet')}', 'Parquet')
        SELECT concat('v', toString(number % 3)) AS r, number * 1.5 AS n, number AS v0000001 FROM numbers(40)`,
    });
    await db.client.command({
      query: `INSERT INTO FUNCTION file('${at('alias-cur.parquet')}', 'Parquet')
        SELECT 'v9' AS r, number * 1.5 + 100 AS n, number AS v0000001 FROM numbers(40)`,
    });
    const parquet = await cli(['--reference', at('alias-ref.parquet'), '--current', at('alias-cur.parquet')]);
    expect(col(parquet.report, 'r')).toMatchObject({ kind: 'categorical', count: 40 });
    expect(col(parquet.report, 'r')).toMatchObject({ p_value: 0, drifted: true });
    expect(col(parquet.report, 'n')).toMatchObject({ kind: 'numerical', count: 40, statistic: 1 });
    expect(col(parquet.report, 'v0000001').statistic).toBe(0);
    const text = csv(
      'r-text.csv',
      ['r', 'x'],
      [
        ['foo', 1],
        ['bar', 2],
        ['baz', 3],
      ],
    );
    expect(col((await cli(['--reference', text, '--current', text])).report, 'r')).toMatchObject({
      kind: 'categorical',
      count: 3,
    });
    // Over 256 number columns (the per-cell query), one of them `r`, shifted by 1,000 in the current file.
    const names = ['r', ...Array.from({ length: 299 }, (_, k) => `c${k}`)];
    const wide = (name: string, shift: number) =>
      csv(
        name,
        names,
        Array.from({ length: 30 }, (_, i) => names.map((_, k) => (k === 0 ? 100 + i + shift : i))),
      );
    const report = (
      await cli([
        '--reference',
        wide('wide-ref.csv', 0),
        '--current',
        wide('wide-cur.csv', 1000),
        '--method',
        'ks',
      ])
    ).report;
    expect(col(report, 'r').statistic).toBe(1);
    expect(col(report, 'c0').statistic).toBe(0);
  });

  it("names a file column called '_row_number' (the engine's row number, which it hid: 'cannot read it as CSV')", async () => {
    const rows = csv(
      'row-number.csv',
      ['_row_number', 'x'],
      [
        ['a', 1],
        ['b', 2],
      ],
    );
    for (const file of [rows, at('row-number.parquet')]) {
      if (file.endsWith('.parquet'))
        await (
          await offlineDatabase()
        ).client.command({
          query: `INSERT INTO FUNCTION file('${file}', 'Parquet') SELECT toString(number) AS _row_number, number AS x FROM numbers(5)`,
        });
      await expect(cli(['--reference', file, '--current', file])).rejects.toThrow(
        `${path.basename(file)}: a column is named '_row_number', the name the engine numbers rows by: rename it`,
      );
    }
  });

  it('refuses an overflowing number (1e999) in the rows types are inferred from, with the row and column named', async () => {
    const ok = csv(
      'fin.csv',
      ['x', 'y'],
      [
        [1, 1],
        [2, 2],
        [3, 1],
      ],
    );
    const inNumbers = csv(
      'overflow-num.csv',
      ['x', 'y'],
      [
        [1, 1],
        [2, '1e999'],
        [3, 2],
      ],
    );
    await expect(cli(['--reference', inNumbers, '--current', ok])).rejects.toThrow(
      "overflow-num.csv:3.y: '1e999' is not a finite number",
    );
    const inText = csv(
      'overflow-text.csv',
      ['x', 'y'],
      [
        [1, 'a'],
        [2, '1e999'],
        [3, 'b'],
      ],
    );
    await expect(cli(['--reference', ok, '--current', inText])).rejects.toThrow(
      "overflow-text.csv:3.y: '1e999' is not a finite number",
    );
    // A prediction given as the text 1e999 is a text, as the row reader takes it.
    writeFileSync(at('overflow.jsonl'), '{"prediction": "1e999"}\n{"prediction": "1"}\n');
    expect(
      col(
        (await cli(['--reference', at('overflow.jsonl'), '--current', at('overflow.jsonl')])).report,
        'prediction',
      ),
    ).toMatchObject({
      kind: 'categorical',
      count: 2,
    });
  });

  it('skips blank lines at the end of a CSV file and blank or whitespace lines in JSONL (CRLF too), as the row reader does', async () => {
    writeFileSync(at('blank-end.csv'), 'x,y\n1,a\n2,b\n3,c\n\n');
    writeFileSync(at('blank-end-crlf.csv'), 'x,y\r\n1,a\r\n2,b\r\n3,c\r\n\r\n');
    writeFileSync(at('blank.jsonl'), '{"x": 1}\r\n \n\t\n{"x": 2}\r\n\r\n');
    for (const file of ['blank-end.csv', 'blank-end-crlf.csv']) {
      const { report } = await cli(['--reference', at(file), '--current', at(file)]);
      expect([report.reference.rows, col(report, 'x').count, col(report, 'y').count]).toEqual([3, 3, 3]);
    }
    const { report } = await cli(['--reference', at('blank.jsonl'), '--current', at('blank.jsonl')]);
    expect([report.reference.rows, col(report, 'x').count]).toEqual([2, 2]);
  });

  it('refuses a CSV file whose quoted cell is never closed (the engine would read the rest as one cell)', async () => {
    writeFileSync(at('unclosed.csv'), 'x,y\n1,"a\n2,b\n3,c\n');
    const ok = csv(
      'closed.csv',
      ['x', 'y'],
      [
        [1, '"a, quoted"'],
        [2, '"b ""x"""'],
      ],
    );
    await expect(cli(['--reference', at('unclosed.csv'), '--current', ok])).rejects.toThrow(
      'unclosed.csv: not valid CSV (Quote Not Closed',
    );
    expect((await cli(['--reference', ok, '--current', ok])).report.reference.rows).toBe(2);
  });

  it('reads spaces around unquoted CSV cells and \\N the same way with and without --timestamp-column', async () => {
    const rows = (cells: string[]) =>
      ['ts,x,s', ...cells.map((c, i) => `2026-01-01T00:00:0${i}Z,${c}`)].join('\n') + '\n';
    writeFileSync(at('spaced.csv'), rows([' 1, a', '2 ,b ', '\\N,\\N']));
    writeFileSync(at('plain.csv'), rows(['1,a', '2,b', ',']));
    const engine = await cli(['--reference', at('spaced.csv'), '--current', at('plain.csv')]);
    const byRows = await cli([
      '--reference',
      at('spaced.csv'),
      '--current',
      at('plain.csv'),
      '--timestamp-column',
      'ts',
    ]);
    for (const { report } of [engine, byRows]) {
      expect(col(report, 'x')).toMatchObject({ count: 2, statistic: 0 });
      expect(col(report, 's')).toMatchObject({ count: 2, statistic: 0 });
    }
    expect(col(byRows.report, 'x')).toEqual(col(engine.report, 'x'));
  });

  it('refuses --bucket and --columns mistakes as usage errors, and names a missing --timestamp-column', async () => {
    const ok = csv('usage.csv', ['ts', 'a'], [['2026-01-01T00:00:00Z', 1]]);
    const run = (args: string[]) =>
      runDriftCommand(['--reference', ok, '--current', ok, ...args], {
        stdout: () => undefined,
        stderr: () => undefined,
        interactive: false,
      });
    await expect(run(['--bucket', '7x', '--timestamp-column', 'ts'])).rejects.toThrow(UsageError);
    await expect(run(['--bucket', '1h'])).rejects.toThrow(UsageError);
    await expect(run(['--bucket', '1h'])).rejects.toThrow('--bucket needs --timestamp-column');
    await expect(run(['--columns', ' , '])).rejects.toThrow(UsageError);
    await expect(run(['--timestamp-column', 'nope'])).rejects.toThrow(
      "usage.csv:2: has no 'nope' (the --timestamp-column)",
    );
  });

  it('reads a CSV file the system fails to read as a clear error, not a crash', async () => {
    // A regular file to stat and open whose first read fails (EIO), even for root.
    symlinkSync('/proc/self/mem', at('unreadable.csv'));
    const rows = async () => {
      for await (const row of readRows(at('unreadable.csv'))) void row;
    };
    await expect(rows()).rejects.toThrow(/unreadable\.csv: cannot read it \(EIO\)$/);
  });

  it('warns on stderr when the current file has text where the reference has numbers, or none of its columns', async () => {
    const numbers = csv(
      'typed-ref.csv',
      ['x', 'y'],
      Array.from({ length: 50 }, (_, i) => [i, i + 0.5]),
    );
    const texts = csv(
      'typed-cur.csv',
      ['x', 'y'],
      Array.from({ length: 50 }, (_, i) => [`v${i}`, i < 3 ? 'n/a' : i + 0.5]),
    );
    const { stderr, report } = await cli(['--reference', numbers, '--current', texts]);
    expect(stderr).toContain(
      "typed-cur.csv: 'x' holds 50 text values where the reference has numbers: left out (no value of it is compared)",
    );
    expect(stderr).toContain(
      "typed-cur.csv: 'y' holds 3 text values where the reference has numbers: left out (47 compared)",
    );
    expect([col(report, 'x').count, col(report, 'y').count]).toEqual([0, 47]);
    writeFileSync(at('semicolons.csv'), 'x;y\n1;2\n3;4\n');
    expect((await cli(['--reference', numbers, '--current', at('semicolons.csv')])).stderr).toContain(
      "semicolons.csv has none of the reference's columns",
    );
    expect((await cli(['--reference', numbers, '--current', numbers])).stderr).not.toContain('warning');
  });

  it('names a compressed or Parquet file given a text extension, instead of reading its bytes as text', async () => {
    const ok = csv('text.csv', ['x'], [[1], [2]]);
    writeFileSync(at('packed.csv'), gzipSync('x\n1\n2\n'));
    await expect(cli(['--reference', at('packed.csv'), '--current', ok])).rejects.toThrow(
      'packed.csv: not CSV, it looks like gzip-compressed data: decompress it first',
    );
    writeFileSync(at('columns.jsonl'), Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(16)]));
    await expect(cli(['--reference', ok, '--current', at('columns.jsonl')])).rejects.toThrow(
      'columns.jsonl: not JSONL, it looks like a Parquet file: name it .parquet',
    );
  });

  it("leaves out a CSV column without a name (pandas' unnamed index) with and without --timestamp-column", async () => {
    writeFileSync(at('indexed.csv'), ',ts,a\n0,2026-01-01T00:00:00Z,x\n1,2026-01-01T00:00:01Z,y\n');
    const args = ['--reference', at('indexed.csv'), '--current', at('indexed.csv')];
    for (const extra of [[], ['--timestamp-column', 'ts']]) {
      const columns = (await cli([...args, ...extra])).report.buckets[0]!.columns.map((c) => c.column);
      expect(columns.filter((c) => c !== 'ts')).toEqual(['a']);
    }
  });

  it('warns when every timestamp is an epoch number before 1973 (seconds read as milliseconds)', async () => {
    const seconds = csv(
      'seconds.csv',
      ['ts', 'a'],
      Array.from({ length: 20 }, (_, i) => [1_796_000_000 + i * 60, i]),
    );
    const millis = csv(
      'millis.csv',
      ['ts', 'a'],
      Array.from({ length: 20 }, (_, i) => [1_796_000_000_000 + i * 60_000, i]),
    );
    const warned = await cli(['--reference', seconds, '--current', seconds, '--timestamp-column', 'ts']);
    expect(warned.stderr).toContain(
      "seconds.csv: every 'ts' is an epoch number before 1973 read as milliseconds; if they are seconds, multiply them by 1,000",
    );
    expect(
      (await cli(['--reference', millis, '--current', millis, '--timestamp-column', 'ts'])).stderr,
    ).not.toContain('warning');
  });

  it('buckets a Parquet file by --timestamp-column and --bucket with the same output as the same rows in CSV', async () => {
    const db = await offlineDatabase();
    // Three days of hourly rows: numbers with nulls and NaN, text with nulls, a boolean, a
    // prediction; the current file moves x on its second day. ts is ISO text, at as a time.
    const select = (shift: number) => `SELECT
        concat(replaceOne(toString(toDateTime64(${Date.UTC(2026, 0, 1) / 1000} + number * 3600, 3, 'UTC')), ' ', 'T'), 'Z') AS ts,
        toDateTime64(${Date.UTC(2026, 0, 1) / 1000} + number * 3600, 3, 'UTC') AS at,
        if(number % 7 = 0, NULL, toNullable(if(number % 11 = 0, nan, sin(number * 1.3) * 5 + if(number >= 24, ${shift}, 0)))) AS x,
        if(number % 5 = 0, NULL, toNullable(['a', 'b', 'c'][number % 3 + 1])) AS s,
        number % 4 = 0 AS flag, toBool(number % 3 = 0) AS yes, number % 2 AS prediction
      FROM numbers(72)`;
    for (const [name, shift] of [
      ['tb-ref', 0],
      ['tb-cur', 2],
    ] as const) {
      for (const [ext, format] of [
        ['parquet', 'Parquet'],
        ['csv', 'CSVWithNames'],
      ])
        await db.client.command({
          query: `INSERT INTO FUNCTION file('${at(`${name}.${ext}`)}', '${format}') ${select(shift)} SETTINGS engine_file_truncate_on_insert = 1`,
        });
    }
    const run = (ref: string, cur: string, ts: string, extra: string[] = []) =>
      cli([
        '--reference',
        at(ref),
        '--current',
        at(cur),
        '--timestamp-column',
        ts,
        '--bucket',
        '1d',
        '--method',
        'ks',
        ...extra,
      ]);
    const fromCsv = await run('tb-ref.csv', 'tb-cur.csv', 'ts');
    expect(fromCsv.report.buckets.map((b) => b.count)).toEqual([24, 24, 24]);
    const kinds = fromCsv.report.buckets[0]!.columns.map((c) => [c.column, c.kind, c.count]);
    expect(kinds.sort()).toEqual([
      ['at', 'categorical', 24],
      ['flag', 'categorical', 24],
      ['prediction', 'categorical', 24],
      ['s', 'categorical', 19],
      ['x', 'numerical', 18],
      ['yes', 'categorical', 24],
    ]);
    // x moves from the current file's second day on.
    const xMoved = fromCsv.report.buckets.map(
      (b) => b.columns.find((c) => c.column === 'x')!.statistic! > 0.3,
    );
    expect(xMoved).toEqual([false, true, true]);
    // Every column but the timestamps: `at` is a feature here (a time as text), `ts` in the other run.
    const withoutTimes = (r: Report) =>
      r.buckets.map((b) => ({
        ...b,
        columns: b.columns.filter((c) => c.column !== 'at' && c.column !== 'ts'),
      }));
    for (const [ref, cur] of [
      ['tb-ref.parquet', 'tb-cur.parquet'],
      ['tb-ref.csv', 'tb-cur.parquet'],
      ['tb-ref.parquet', 'tb-cur.csv'],
    ]) {
      const parquet = await run(ref!, cur!, 'ts');
      expect(parquet.report.buckets, `${ref} ${cur}`).toEqual(fromCsv.report.buckets);
      expect([parquet.report.reference.rows, parquet.report.current.rows]).toEqual([72, 72]);
      // A Parquet time column buckets as the same times written as ISO text.
      if (cur!.endsWith('.parquet'))
        expect(withoutTimes((await run(ref!, cur!, 'at')).report)).toEqual(withoutTimes(fromCsv.report));
    }
    const columns = ['--columns', 'x,prediction'];
    const onlySome = await run('tb-ref.parquet', 'tb-cur.parquet', 'ts', columns);
    expect(onlySome.report.buckets[0]!.columns.map((c) => c.column)).toEqual(['x', 'prediction']);
    expect(onlySome.report.buckets).toEqual(
      (await run('tb-ref.csv', 'tb-cur.csv', 'ts', columns)).report.buckets,
    );

    // Refused values are named with their row and column, as the whole-file read names them.
    await db.client.command({
      query: `INSERT INTO FUNCTION file('${at('tb-inf.parquet')}', 'Parquet')
        SELECT concat('2026-01-01T00:00:0', toString(number), 'Z') AS ts, if(number = 4, -inf, number / 3) AS x FROM numbers(8)
        SETTINGS engine_file_truncate_on_insert = 1`,
    });
    await expect(run('tb-ref.csv', 'tb-inf.parquet', 'ts')).rejects.toThrow(
      "tb-inf.parquet: row 5, column 'x': the value is not allowed (a non-finite number, or a text score)",
    );
    await expect(run('tb-ref.csv', 'tb-inf.parquet', 'nope')).rejects.toThrow(
      "tb-inf.parquet: has no 'nope' (the --timestamp-column)",
    );
  });

  it('refuses more buckets than the drift route answers (10,000) as a usage error, and reports 10,000 in JSON and HTML', async () => {
    const minutes = (count: number, name: string) =>
      csv(
        name,
        ['ts', 'x'],
        Array.from({ length: count }, (_, i) => [Date.UTC(2026, 0, 1) + i * 60_000, i % 7]),
      );
    const reference = minutes(50, 'many-ref.csv');
    const args = (current: string) => [
      '--reference',
      reference,
      '--current',
      current,
      '--timestamp-column',
      'ts',
      '--bucket',
      '1m',
    ];
    const tooMany = cli(args(minutes(10_001, 'many-over.csv')));
    await expect(tooMany).rejects.toThrow(UsageError);
    await expect(tooMany).rejects.toThrow(
      "--bucket: many-over.csv spans more than 10000 buckets of '1m' (at most 10000, as the drift route); choose a larger --bucket",
    );
    const limit = minutes(10_000, 'many-limit.csv');
    const { report } = await cli(args(limit));
    expect(report.buckets).toHaveLength(10_000);
    let html = '';
    await runDriftCommand([...args(limit), '--format', 'html'], {
      stdout: (t) => (html += t),
      stderr: () => undefined,
      interactive: false,
    });
    expect(html).toContain('10000 buckets');
  }, 120_000);
});
