import { describe, expect, it } from 'vitest';
import {
  CSV_COLUMNS,
  csvCell,
  formatAuditExport,
  unescapeTsv,
  type AuditEventRow,
  type ExportFormat,
} from '../../../src/audit/index.js';

import { chainRows } from './rows.js';

function eventRows(n: number): AuditEventRow[] {
  return chainRows(n).map((r) => ({
    chain: r.chain,
    position: r.position,
    prev_hash: r.prev_hash,
    hash: r.hash,
    record: JSON.parse(r.record) as Record<string, unknown>,
  }));
}

function* pagesOf(rows: AuditEventRow[], size: number): Generator<AuditEventRow[]> {
  for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
}

async function render(rows: AuditEventRow[], format: ExportFormat, pageSize = 3): Promise<string> {
  let out = '';
  for await (const chunk of formatAuditExport(pagesOf(rows, pageSize), format)) out += chunk;
  return out;
}

describe('export formats', () => {
  it('json is one valid array across pages, and [] when nothing matched', async () => {
    const rows = eventRows(7);
    const parsed = JSON.parse(await render(rows, 'json')) as Record<string, unknown>[];
    expect(parsed.map((r) => r['position'])).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(parsed[0]).toMatchObject({ chain: 'c0', prev_hash: '0'.repeat(64), kind: 'access' });
    expect(JSON.parse(await render([], 'json'))).toEqual([]);
  });

  it('jsonl is one object per line', async () => {
    const lines = (await render(eventRows(5), 'jsonl')).trimEnd().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { position: number }).position)).toEqual([1, 2, 3, 4, 5]);
  });

  it('csv has the header and one line per row, details as JSON', async () => {
    const text = await render(eventRows(4), 'csv');
    const lines = text.trimEnd().split('\r\n');
    expect(lines[0]).toBe(CSV_COLUMNS.join(','));
    expect(lines).toHaveLength(5);
    expect(lines[1]).toContain('"{""event_id"":""e-0""}"');
  });

  it('quotes as RFC 4180 and neutralizes formula-looking cells', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('line\nbreak')).toBe('"line\nbreak"');
    expect(csvCell('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`);
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell(undefined)).toBe('');
    expect(csvCell(12.5)).toBe('12.5');
    expect(csvCell({ a: 1 })).toBe('"{""a"":1}"');
  });
});

describe('TabSeparated fields', () => {
  it('unescapes what ClickHouse escapes', () => {
    expect(unescapeTsv('plain')).toBe('plain');
    expect(unescapeTsv('{"s":"a\\\\"b"}')).toBe('{"s":"a\\"b"}');
    expect(unescapeTsv('tab\\there\\nnew\\\\line\\0')).toBe('tab\there\nnew\\line\0');
  });
});
