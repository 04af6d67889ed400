/**
 * The CSV export written by ClickHouse: each page's lines are formatted by the engine and sent
 * on as the bytes it returned, so no row is parsed or built in JavaScript. The JavaScript
 * formatter (`formatAuditExport`) writes the same bytes; `test/integration/audit-csv-engine.test.ts`
 * compares them on hostile records.
 */
import type { Database } from '../platform/clickhouse/index.js';
import { CSV_COLUMNS } from './export-format.js';
import { DETAILS_TEXT_SQL } from './record-sql.js';
import { whereClause, type AuditQuery } from './query.js';
import { AUDIT_TABLE } from './store.js';

/**
 * Rows per page of the engine-written CSV export. A page is one buffer of its CSV bytes (about
 * 300 bytes a row) and two queries; a smaller page costs more queries for the same rows.
 * @default 5_000
 */
export const CSV_PAGE_ROWS = 5_000;

export const CSV_HEADER = `${CSV_COLUMNS.join(',')}\r\n`;

/** A ClickHouse string literal holding `text` as is. */
function sqlString(text: string): string {
  return `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** JavaScript's `String.prototype.trim` whitespace as an RE2 class (the engine matches UTF-8). */
const JS_SPACE = String.raw`[\t\n\x{0B}\f\r \x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\x{FEFF}]`;
const FORMULA_START = sqlString(String.raw`^[=+\-@\t\r]`);
const NEEDS_QUOTES = sqlString(String.raw`[",\r\n]|^${JS_SPACE}|${JS_SPACE}$`);

/** A cell's text with a leading `'` when a spreadsheet would run it as a formula (as `csvCell`). */
function guardedSql(expr: string): string {
  return `if(match(${expr}, ${FORMULA_START}), concat('''', ${expr}), ${expr})`;
}

/** The guarded text in RFC 4180 quotes when it holds a quote, comma or line break, or starts or ends with space. */
function quotedSql(name: string): string {
  return `if(match(${name}, ${NEEDS_QUOTES}), concat('"', replaceAll(${name}, '"', '""'), '"'), ${name})`;
}

/**
 * Each column's text. `at` and `details` come from the record text (`details` cut out rather
 * than parsed: record-sql.ts); the others are the query
 * columns written from the record (verification checks they still match it: `column_mismatch`).
 * An absent `model_id` or `entity_id` is stored as '', which is what the JavaScript export writes.
 */
const COLUMN_SQL: Record<(typeof CSV_COLUMNS)[number], string> = {
  chain: 'chain',
  position: 'toString(position)',
  at: `extract(record, '"at":"([^"]*)"')`,
  kind: 'kind',
  principal: 'principal',
  action: 'action',
  resource_type: 'resource_type',
  resource_id: 'resource_id',
  model_id: 'model_id',
  entity_id: 'entity_id',
  outcome: 'outcome',
  details: DETAILS_TEXT_SQL,
  prev_hash: 'prev_hash',
  hash: 'hash',
};

const WITH_SQL = CSV_COLUMNS.map((c) => `${guardedSql(COLUMN_SQL[c])} AS g_${c}`).join(',\n');
/** One line a row, CR LF ended (TabSeparatedRaw adds the LF and escapes nothing). */
const LINE_SQL = `concat(${CSV_COLUMNS.map((c) => quotedSql(`g_${c}`)).join(", ',', ")}, '\\r')`;

interface PageKey {
  at_ms: number;
  chain: string;
  position: number;
}

interface Where {
  sql: string;
  params: Record<string, unknown>;
}

/** `(at, chain, position)` compared with the key bound as `<p>_at`, `<p>_chain`, `<p>_pos`. */
function keyBound(p: 'a' | 'z', op: '>' | '<='): string {
  // The plain comparison on `at` beside the tuple lets the minmax index on `at` skip granules.
  const at = `fromUnixTimestamp64Milli({${p}_at:Int64}, 'UTC')`;
  return `AND at ${op === '>' ? '>=' : '<='} ${at} AND (at, chain, position) ${op} (${at}, {${p}_chain:String}, {${p}_pos:UInt64})`;
}

function keyParams(p: 'a' | 'z', key: PageKey | undefined): Record<string, unknown> {
  return key ? { [`${p}_at`]: key.at_ms, [`${p}_chain`]: key.chain, [`${p}_pos`]: key.position } : {};
}

/** The last key of the next page (at most `pageRows` rows after `after`), and how many rows it holds. */
async function nextPageEnd(
  db: Database,
  where: Where,
  after: PageKey | undefined,
  pageRows: number,
): Promise<{ rows: number; last: PageKey } | undefined> {
  const result = await db.client.query({
    query: `SELECT count() AS rows, max((at, chain, position)) AS last,
                   toUnixTimestamp64Milli(tupleElement(last, 1)) AS last_at, tupleElement(last, 2) AS last_chain,
                   tupleElement(last, 3) AS last_pos
            FROM (SELECT at, chain, position FROM ${AUDIT_TABLE} WHERE ${where.sql} ${after ? keyBound('a', '>') : ''}
                  ORDER BY at, chain, position LIMIT {page:UInt32})`,
    query_params: { ...where.params, ...keyParams('a', after), page: pageRows },
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ rows: number; last_at: number; last_chain: string; last_pos: number }>();
  if (!row || Number(row.rows) === 0) return undefined;
  return {
    rows: Number(row.rows),
    last: { at_ms: Number(row.last_at), chain: row.last_chain, position: Number(row.last_pos) },
  };
}

/**
 * The CSV bytes of the rows after `after` up to and including `last`: a retried copy (the same
 * link and record at the same position) once, both rows of a fork (as the json export lists
 * them), also a record edited with its hash kept.
 */
async function pageBytes(
  db: Database,
  where: Where,
  after: PageKey | undefined,
  last: PageKey,
): Promise<Buffer> {
  const result = await db.client.exec({
    query: `WITH ${WITH_SQL}
            SELECT ${LINE_SQL} FROM ${AUDIT_TABLE}
            WHERE ${where.sql} ${after ? keyBound('a', '>') : ''} ${keyBound('z', '<=')}
            ORDER BY at, chain, position, hash, prev_hash, record
            LIMIT 1 BY chain, position, hash, prev_hash, record
            FORMAT TabSeparatedRaw`,
    query_params: { ...where.params, ...keyParams('a', after), ...keyParams('z', last) },
  });
  const chunks: Buffer[] = [];
  for await (const chunk of result.stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks);
}

/**
 * The CSV export of the matching rows, oldest first, as byte chunks: the header, then one chunk
 * per page of at most `pageRows` rows. Each page is two bounded queries (its last key on the small
 * columns, then its lines by key range), run only when the consumer asks for the next chunk.
 */
export async function* engineCsvExport(
  db: Database,
  query: AuditQuery,
  pageRows: number = CSV_PAGE_ROWS,
): AsyncGenerator<Buffer> {
  const where = whereClause(query);
  let after: PageKey | undefined;
  let end = await nextPageEnd(db, where, after, pageRows);
  yield Buffer.from(CSV_HEADER);
  while (end) {
    yield await pageBytes(db, where, after, end.last);
    if (end.rows < pageRows) return;
    after = end.last;
    end = await nextPageEnd(db, where, after, pageRows);
  }
}
