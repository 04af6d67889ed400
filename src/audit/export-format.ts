/** Compliance export formats, written incrementally: one chunk per page of rows. */
import { Readable } from 'node:stream';
import { canonicalJson } from './chain.js';
import type { AuditEventRow } from './query.js';

export const EXPORT_FORMATS = ['json', 'jsonl', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  json: 'application/json; charset=utf-8',
  jsonl: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
};

export const CSV_COLUMNS = [
  'chain',
  'position',
  'at',
  'kind',
  'principal',
  'action',
  'resource_type',
  'resource_id',
  'model_id',
  'entity_id',
  'outcome',
  'details',
  'prev_hash',
  'hash',
] as const;

/**
 * A flat object: the link fields, then the record's fields. Removing chain, position, prev_hash
 * and hash leaves exactly the record whose JCS text was hashed.
 */
export function exportObject(row: AuditEventRow): Record<string, unknown> {
  return {
    chain: row.chain,
    position: row.position,
    prev_hash: row.prev_hash,
    hash: row.hash,
    ...row.record,
  };
}

/**
 * RFC 4180 quoting; a cell a spreadsheet would run as a formula gets a leading `'` (see README).
 * An object is written as its canonical (JCS) text: exactly the bytes the record hashed, and what
 * the engine-written export (csv-export.ts) cuts out of the stored record.
 */
export function csvCell(value: unknown): string {
  let text = cellText(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replaceAll('"', '""')}"` : text;
}

function cellText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return canonicalJson(value);
}

function csvLine(row: AuditEventRow): string {
  const flat = exportObject(row);
  return CSV_COLUMNS.map((c) => csvCell(flat[c])).join(',');
}

/** Pages of rows, e.g. `queryAuditEvents`. */
export type RowPages = AsyncIterable<AuditEventRow[]> | Iterable<AuditEventRow[]>;

/** The export as text chunks, pulling one page at a time from `pages`. */
export async function* formatAuditExport(pages: RowPages, format: ExportFormat): AsyncGenerator<string> {
  let first = true;
  if (format === 'json') yield '[';
  if (format === 'csv') yield `${CSV_COLUMNS.join(',')}\r\n`;
  for await (const page of pages) {
    switch (format) {
      case 'json': {
        const lead = first ? '\n' : ',\n';
        if (page.length > 0) yield lead + page.map((row) => JSON.stringify(exportObject(row))).join(',\n');
        break;
      }
      case 'jsonl':
        yield page.map((row) => `${JSON.stringify(exportObject(row))}\n`).join('');
        break;
      case 'csv':
        yield page.map((row) => `${csvLine(row)}\r\n`).join('');
        break;
    }
    if (page.length > 0) first = false;
  }
  if (format === 'json') yield first ? ']' : '\n]\n';
}

/** A byte stream of the export (Readable.from pulls the next page only when the reader drains). */
export function auditExportStream(pages: RowPages, format: ExportFormat): Readable {
  return Readable.from(formatAuditExport(pages, format), { objectMode: false });
}
