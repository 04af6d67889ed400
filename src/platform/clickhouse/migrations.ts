import type { Database } from './database.js';
import { assertIdentifier, WRITE_SETTINGS } from './database.js';

/** What a migration's DDL needs to run the same on the embedded engine, a server, or a cluster. */
export interface DdlContext {
  /** `' ON CLUSTER name'` or `''`. */
  onCluster: string;
  /** A MergeTree-family engine clause, replicated when a cluster is configured. */
  engine: (
    family: 'MergeTree' | 'ReplacingMergeTree' | 'AggregatingMergeTree' | 'SummingMergeTree',
    args?: string,
  ) => string;
}

/**
 * A statement that cannot be written idempotently (EXCHANGE, INSERT … SELECT): it is skipped
 * when `unless`, a query answering one row with one number, answers non-zero.
 */
export interface GuardedStatement {
  query: string;
  unless: string;
}

export interface Migration {
  /** Unique, increasing; never renumber a released migration. */
  version: number;
  name: string;
  statements(ctx: DdlContext): (string | GuardedStatement)[];
}

export interface MigrationReport {
  applied: { version: number; name: string }[];
  current: number;
}

export function ddlContext(cluster: string | undefined): DdlContext {
  const onCluster = cluster ? ` ON CLUSTER ${assertIdentifier(cluster)}` : '';
  return {
    onCluster,
    engine: (family, args = '') => {
      if (!cluster) return `${family}(${args})`;
      const replicated = `'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'`;
      return `Replicated${family}(${args ? `${replicated}, ${args}` : replicated})`;
    },
  };
}

/**
 * A statement that a rerun leaves as it is, as long as nothing dropped or changed what it made
 * since: it only creates what does not exist yet.
 */
const REPEATABLE = /^\s*CREATE (TABLE|VIEW|MATERIALIZED VIEW) IF NOT EXISTS\s/i;

function repeatable(statements: readonly (string | GuardedStatement)[]): boolean {
  return statements.every((s) => typeof s === 'string' && REPEATABLE.test(s));
}

/**
 * Applies pending migrations in order. Each statement is idempotent (IF NOT EXISTS, or guarded
 * by `unless`), and a migration is recorded only after all its statements ran, so a crash
 * mid-way is safe to rerun. Migrations that only create are recorded together (each record is
 * an insert: ~15 ms, half of migrating a new database), but before any other migration runs and
 * right after it: what a crash leaves unrecorded is then only creations that nothing has touched
 * since, which a rerun skips.
 */
export async function migrate(db: Database, migrations: readonly Migration[]): Promise<MigrationReport> {
  const versions = migrations.map((m) => m.version);
  const duplicate = versions.find((v, i) => versions.indexOf(v) !== i);
  if (duplicate !== undefined) throw new Error(`two migrations share version ${duplicate}`);
  const ctx = ddlContext(db.cluster);
  await db.client.command({
    query: `CREATE TABLE IF NOT EXISTS schema_migrations${ctx.onCluster} (
      version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
    ) ENGINE = ${ctx.engine('ReplacingMergeTree', 'applied_at')} ORDER BY version`,
  });
  const done = await appliedVersions(db);
  const applied: MigrationReport['applied'] = [];
  let unrecorded: MigrationReport['applied'] = [];
  const record = async () => {
    if (unrecorded.length === 0) return;
    await db.client.insert({ table: 'schema_migrations', values: unrecorded, format: 'JSONEachRow' });
    applied.push(...unrecorded);
    unrecorded = [];
  };
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    if (done.has(migration.version)) continue;
    const statements = migration.statements(ctx);
    const alone = !repeatable(statements);
    if (alone) await record();
    for (const statement of statements) await run(db, statement);
    unrecorded.push({ version: migration.version, name: migration.name });
    if (alone) await record();
  }
  await record();
  const current = Math.max(0, ...done, ...applied.map((m) => m.version));
  return { applied, current };
}

async function run(db: Database, statement: string | GuardedStatement): Promise<void> {
  if (typeof statement === 'string') {
    await db.client.command({ query: statement, clickhouse_settings: WRITE_SETTINGS });
    return;
  }
  const result = await db.client.query({ query: statement.unless, format: 'JSONCompactEachRow' });
  const [row] = await result.json<unknown[]>();
  if (Number(row?.[0] ?? 0) !== 0) return;
  await db.client.command({ query: statement.query, clickhouse_settings: WRITE_SETTINGS });
}

async function appliedVersions(db: Database): Promise<Set<number>> {
  const result = await db.client.query({
    query: 'SELECT DISTINCT version FROM schema_migrations',
    format: 'JSONEachRow',
  });
  const rows = await result.json<{ version: number }>();
  return new Set(rows.map((r) => Number(r.version)));
}
