/**
 * The rows verification reads: only the link columns, with the check of the extracted columns
 * done by ClickHouse while reading (JSON.parse and JCS per row in JavaScript were most of the
 * verification time), as TabSeparated text split by hand.
 */
import type { Database } from '../platform/clickhouse/index.js';
import { RECORD_WITHOUT_DETAILS_SQL } from './record-sql.js';
import {
  AUDIT_TABLE,
  DEFAULT_PAGE_POSITIONS,
  maxPosition,
  nextPosition,
  positionRanges,
  type StreamChainOptions,
} from './store.js';
import type { LinkRow } from './verify.js';

function columnsMatchIn(record: string): string {
  return `ifNull(
  (kind, principal, action, resource_type, resource_id, model_id, entity_id, outcome) =
    JSONExtract(${record}, 'Tuple(kind String, principal String, action String, resource_type String, resource_id String, model_id String, entity_id String, outcome String)')
  AND toUnixTimestamp64Milli(at) = toUnixTimestamp64Milli(parseDateTime64BestEffortOrNull(JSONExtractString(${record}, 'at'), 3, 'UTC')),
  false)`;
}

/**
 * True when every extracted query column equals the record's field (absent = ''), so a query by
 * principal or time returns what the hashed records say. `columnsMatch` in verify.ts is its twin.
 * A record the engine's parser cannot read (an integer of 2^64 or more in `details`) is read
 * again without its `details` (record-sql.ts); `OR` is evaluated lazily, so only those rows pay.
 */
export const COLUMNS_MATCH_SQL = `(${columnsMatchIn('record')} OR ${columnsMatchIn(RECORD_WITHOUT_DETAILS_SQL)})`;

const TSV_ESCAPES: Record<string, string> = { b: '\b', f: '\f', r: '\r', n: '\n', t: '\t', '0': '\0' };

/** Undoes TabSeparated escaping (only fields holding a backslash pay for it). */
export function unescapeTsv(field: string): string {
  return field.includes('\\') ? field.replace(/\\(.)/gs, (_, c: string) => TSV_ESCAPES[c] ?? c) : field;
}

/** A chain's rows in position order for verification, without FINAL; one page in memory at a time. */
export async function* streamLinks(
  db: Database,
  chain: string,
  options: StreamChainOptions = {},
): AsyncGenerator<LinkRow> {
  const last = options.upTo ?? (await maxPosition(db, chain));
  const fetch = async (from: number, to: number): Promise<LinkRow[]> => {
    const result = await db.client.query({
      query: `SELECT position, prev_hash, hash, record, toUInt8(${COLUMNS_MATCH_SQL}), source_offset FROM ${AUDIT_TABLE}
              WHERE chain = {chain:String} AND position >= {from:UInt64} AND position < {to:UInt64} ORDER BY position, hash`,
      query_params: { chain, from, to },
      format: 'TabSeparated',
    });
    return parseLinks(await result.text());
  };
  const next = (from: number) => nextPosition(db, chain, from);
  yield* positionRanges(
    { fetch, next },
    options.from ?? 0,
    last,
    options.pagePositions ?? DEFAULT_PAGE_POSITIONS,
  );
}

function parseLinks(text: string): LinkRow[] {
  const rows: LinkRow[] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const [position = '', prev = '', hash = '', record = '', match = '', offset = '-1'] = text
      .slice(start, end)
      .split('\t');
    start = end + 1;
    rows.push({
      position: Number(position),
      prev_hash: unescapeTsv(prev),
      hash: unescapeTsv(hash),
      record: unescapeTsv(record),
      columns_match: match === '1',
      source_offset: Number(offset),
    });
  }
  return rows;
}
