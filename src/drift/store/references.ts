/** The two reference tables: raw samples (`drift_reference_values`) and per-column summaries (`drift_references`). */
import { Readable } from 'node:stream';
import type { Database } from '../../platform/clickhouse/index.js';
import type {
  ColumnRole,
  RawColumn,
  Reference,
  ReferenceColumn,
  ReferenceInfo,
  ValueType,
} from '../engine/types.js';
import { queryNative, type NativeValue } from './native.js';
import { countsQuery, numberSources, PARALLEL_GROUPS, RANGE, sortedQuery, textSources } from './sql.js';

export interface VersionKey {
  modelId: string;
  version: string;
}

function keyParams(key: VersionKey) {
  return { model: key.modelId, version: key.version };
}

/** JSONEachRow insert with exact float parsing, so stored values are the very doubles that were sent. */
export async function insertJsonRows(db: Database, table: string, rows: readonly object[]): Promise<void> {
  if (rows.length === 0) return;
  const body = Buffer.from(rows.map((r) => JSON.stringify(r)).join('\n'));
  const result = await db.client.exec({
    query: `INSERT INTO ${table} SETTINGS precise_float_parsing = 1 FORMAT JSONEachRow`,
    values: Readable.from([body]),
  });
  for await (const _ of result.stream) {
    // drain: the server answers with an empty body
  }
}

/** The committed revision of a version's reference (its summary rows exist), if any. */
export async function currentRevision(db: Database, key: VersionKey): Promise<number | undefined> {
  const result = await db.client.query({
    query: `SELECT max(revision) AS revision, count() AS rows FROM drift_references
            WHERE model_id = {model:String} AND model_version = {version:String}`,
    query_params: keyParams(key),
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ revision: number; rows: number }>();
  return row && Number(row.rows) > 0 ? Number(row.revision) : undefined;
}

export async function listReferenceVersions(db: Database): Promise<(VersionKey & { revision: number })[]> {
  const result = await db.client.query({
    query: `SELECT model_id, model_version, max(revision) AS revision FROM drift_references GROUP BY model_id, model_version ORDER BY model_id, model_version`,
    format: 'JSONEachRow',
  });
  const rows = await result.json<{ model_id: string; model_version: string; revision: number }>();
  return rows.map((r) => ({ modelId: r.model_id, version: r.model_version, revision: Number(r.revision) }));
}

/** Predictions of the version in [from, to). */
export async function countPredictions(
  db: Database,
  key: VersionKey,
  from: number,
  to: number,
): Promise<number> {
  const result = await db.client.query({
    query: `SELECT count() AS n FROM predictions FINAL WHERE ${RANGE}`,
    query_params: { ...keyParams(key), from, to },
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ n: number }>();
  return Number(row?.n ?? 0);
}

/** Distinct feature names of the version's predictions in [from, to), and one name longer than `maxLength` if any. */
export async function rangeFeatureNames(
  db: Database,
  key: VersionKey,
  from: number,
  to: number,
  maxLength: number,
): Promise<{ features: number; longName: { name: string; length: number } | undefined }> {
  const result = await db.client.query({
    query: `SELECT uniqExact(k) AS features, max(length(k)) AS longest, substring(argMax(k, length(k)), 1, 100) AS name
            FROM predictions FINAL ARRAY JOIN arrayConcat(mapKeys(features_num), mapKeys(features_str)) AS k WHERE ${RANGE}`,
    query_params: { ...keyParams(key), from, to },
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ features: number; name: string; longest: number }>();
  if (!row) return { features: 0, longName: undefined };
  return {
    features: Number(row.features),
    longName: Number(row.longest) > maxLength ? { name: row.name, length: Number(row.longest) } : undefined,
  };
}

export async function writeRawColumns(
  db: Database,
  key: VersionKey,
  revision: number,
  columns: readonly RawColumn[],
): Promise<void> {
  const rows: object[] = [];
  for (const c of columns) {
    const base = {
      model_id: key.modelId,
      model_version: key.version,
      revision,
      role: c.role,
      column: c.column,
    };
    if (c.numbers.length > 0)
      rows.push({ ...base, part: 'number', numbers: Array.from(c.numbers), texts: [], counts: [] });
    if (c.texts.size > 0)
      rows.push({
        ...base,
        part: 'text',
        numbers: [],
        texts: [...c.texts.keys()],
        counts: [...c.texts.values()],
      });
  }
  await insertJsonRows(db, 'drift_reference_values', rows);
}

/**
 * Copies the version's own values in [from, to) into the reference, inside ClickHouse (no round
 * trip). Sorted by the array's sort: nothing here sees a column's length, so none may be cut.
 */
export async function copyRawColumnsFromRange(
  db: Database,
  key: VersionKey,
  revision: number,
  from: number,
  to: number,
): Promise<void> {
  const all = {
    features: 'all',
    prediction: true,
    score: true,
    label: await mayHaveLabels(db, key),
  } as const;
  const params = { ...keyParams(key), from, to, revision };
  const target = `INSERT INTO drift_reference_values (model_id, model_version, revision, role, column, part, numbers, texts, counts)`;
  for (const source of numberSources(all, '0')) {
    await db.client.command({
      query: `${target}
        SELECT {model:String}, {version:String}, {revision:UInt64}, '${source.role}', column, 'number', values, [], []
        FROM (${sortedQuery(source, 'array')}) ${PARALLEL_GROUPS}`,
      query_params: params,
      // Each column once (grouped by name): merging the block on insert finds nothing to replace
      // and copies the whole sample (range-sample.ts, storeSample).
      clickhouse_settings: { optimize_on_insert: 0 },
    });
  }
  for (const source of textSources(all, '0')) {
    await db.client.command({
      query: `${target}
        SELECT {model:String}, {version:String}, {revision:UInt64}, '${source.role}', column, 'text', [], groupArray(v), groupArray(c)
        FROM (${countsQuery(source)}) GROUP BY column`,
      query_params: params,
    });
  }
}

/**
 * Whether any label could belong to the model (one naming it, or naming no model). The label
 * queries join every prediction of the range with the labels (~0.5 s for 1M predictions even when
 * there are none), so a model that has never had a label skips them.
 */
export async function mayHaveLabels(db: Database, key: VersionKey): Promise<boolean> {
  const result = await db.client.query({
    query: `SELECT count() AS n FROM (SELECT 1 FROM labels WHERE model_id IN ('', {model:String}) LIMIT 1)`,
    query_params: keyParams(key),
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ n: number }>();
  return Number(row?.n ?? 0) > 0;
}

function asRole(value: NativeValue | undefined): ColumnRole {
  return String(value) as ColumnRole;
}

export async function readRawColumns(
  db: Database,
  key: VersionKey,
  revision: number,
  part?: 'number' | 'text',
): Promise<RawColumn[]> {
  const rows = await queryNative(
    db,
    // `numbers` first: its floats are then aligned in the result (see `readNativeFile`), views in
    // shared memory instead of private copies that the walk pool's threads could not take.
    `SELECT numbers, CAST(role AS String) AS role, column, CAST(part AS String) AS part, texts, counts FROM drift_reference_values FINAL
     WHERE model_id = {model:String} AND model_version = {version:String} AND revision = {revision:UInt64}
     ${part === undefined ? '' : 'AND part = {part:String}'}`,
    { ...keyParams(key), revision, part },
    // The samples of a reference go to the walk pool's threads with every window.
    { shared: true },
  );
  const byColumn = new Map<string, RawColumn>();
  for (const row of rows) {
    const name = `${String(row['role'])}\u0000${String(row['column'])}`;
    let col = byColumn.get(name);
    if (!col) {
      col = {
        role: asRole(row['role']),
        column: String(row['column']),
        numbers: new Float64Array(0),
        texts: new Map(),
      };
      byColumn.set(name, col);
    }
    if (row['part'] === 'number') col.numbers = row['numbers'] as Float64Array;
    else {
      const texts = row['texts'] as string[];
      const counts = row['counts'] as number[];
      texts.forEach((t, k) => col.texts.set(t, counts[k] ?? 0));
    }
  }
  return [...byColumn.values()];
}

export async function writeSummary(db: Database, reference: Reference, setBy: string): Promise<void> {
  await insertJsonRows(
    db,
    'drift_references',
    reference.columns.map((c) => ({
      model_id: reference.modelId,
      model_version: reference.version,
      revision: reference.revision,
      role: c.role,
      column: c.column,
      value_type: c.valueType,
      kind: c.kind,
      n: c.n,
      nulls: c.nulls,
      distinct: c.distinct,
      std: c.numerical?.std ?? 0,
      edges: c.numerical?.edges ?? [],
      bin_counts: c.numerical?.counts ?? [],
      categories: [...c.categories.keys()],
      category_counts: [...c.categories.values()],
      source: reference.source,
      range_from: reference.from,
      range_to: reference.to,
      rows: reference.rows,
      set_at: reference.setAt,
      set_by: setBy,
    })),
  );
}

/** A committed reference revision: its summaries, with the sorted samples of its number columns. */
export async function readReference(
  db: Database,
  key: VersionKey,
  revision: number,
): Promise<Reference | undefined> {
  const rows = await queryNative(
    db,
    `SELECT CAST(role AS String) AS role, column, CAST(value_type AS String) AS value_type, CAST(kind AS String) AS kind, n, nulls, distinct, std,
            edges, bin_counts, categories, category_counts, CAST(source AS String) AS source,
            ifNull(toUnixTimestamp64Milli(range_from), toInt64(0)) AS from_ms, ifNull(toUnixTimestamp64Milli(range_to), toInt64(0)) AS to_ms,
            rows, toUnixTimestamp64Milli(set_at) AS set_ms
     FROM drift_references FINAL
     WHERE model_id = {model:String} AND model_version = {version:String} AND revision = {revision:UInt64}`,
    { ...keyParams(key), revision },
  );
  const first = rows[0];
  if (!first) return undefined;
  const numbers = new Map(
    (await readRawColumns(db, key, revision, 'number')).map((c) => [`${c.role}\u0000${c.column}`, c.numbers]),
  );
  const source = first['source'] === 'range' ? 'range' : 'rows';
  const info: ReferenceInfo = {
    modelId: key.modelId,
    version: key.version,
    revision,
    source,
    from: source === 'range' ? Number(first['from_ms']) : null,
    to: source === 'range' ? Number(first['to_ms']) : null,
    rows: Number(first['rows']),
    setAt: Number(first['set_ms']),
  };
  const columns = rows.map((row): ReferenceColumn => {
    const role = asRole(row['role']);
    const column = String(row['column']);
    const valueType = String(row['value_type']) as ValueType;
    const sorted = numbers.get(`${role}\u0000${column}`);
    const categories = row['categories'] as string[];
    const counts = row['category_counts'] as number[];
    return {
      role,
      column,
      valueType,
      kind: row['kind'] === 'numerical' ? 'numerical' : 'categorical',
      n: Number(row['n']),
      nulls: Number(row['nulls']),
      distinct: Number(row['distinct']),
      numerical:
        valueType === 'number' && sorted && sorted.length > 0
          ? {
              sorted,
              edges: Array.from(row['edges'] as Float64Array),
              counts: row['bin_counts'] as number[],
              std: Number(row['std']),
            }
          : undefined,
      categories: new Map(categories.map((c, k) => [c, counts[k] ?? 0])),
    };
  });
  return { ...info, columns };
}
