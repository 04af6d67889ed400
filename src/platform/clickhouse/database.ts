import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import pRetry from 'p-retry';
import type { ClickHouseConfig } from '../config/index.js';
import { ModelwatchError, errorMessage } from '../errors.js';
import type { Logger } from '../observability/index.js';
import type { EmbeddedOptions, EnginePool } from './engine-pool.js';
import { unavailableMessage } from './errors.js';

/** Performance marks of the embedded engine's start, for a command that reports its phases. */
export const ENGINE_MARKS = {
  libraryLoaded: 'modelwatch:engine-library-loaded',
  opened: 'modelwatch:engine-opened',
} as const;

/** One handle on ClickHouse, embedded or server; the same SQL runs on both. */
export interface Database {
  readonly client: ClickHouseClient;
  /** Database all tables live in; queries name tables unqualified. */
  readonly name: string;
  readonly cluster: string | undefined;
  readonly embedded: boolean;
  /** Where to reach it, credentials masked: for messages. */
  readonly location: string;
  /** Creates the database if needed (and selects it, embedded); safe to repeat. */
  prepare(): Promise<void>;
  /**
   * Inserts rows already serialized as JSONEachRow (or `options.format`). On the embedded engine the bytes go to
   * chdb's native multithreaded parser (3-5x faster than the client's object insert there).
   */
  insertJsonEachRow(table: string, body: Buffer, options?: InsertOptions): Promise<void>;
  close(): Promise<void>;
}

type ClientConnection = Parameters<typeof createClient>[0] extends infer O
  ? O extends { connection?: infer C }
    ? NonNullable<C>
    : never
  : never;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function assertIdentifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new ModelwatchError('BAD_REQUEST', `not a plain identifier: '${name}'`);
  return name;
}

function maskUrl(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

/**
 * Creates the handle. Embedded: opens the engine now. Server: no I/O yet (the client connects
 * lazily), so a service can start, report not-ready and retry; call `ping` to check.
 */
export interface InsertOptions {
  /**
   * The rows' column types (`name Type, …`). On the embedded engine a batch with a structure is
   * written to a file and inserted with `INSERT … SELECT FROM file()`, which parses on all cores:
   * measured 1.5-2x faster than passing the bytes inline for 20,000 45-feature predictions.
   */
  structure?: string;
  settings?: Record<string, string | number>;
  /**
   * The body's format: JSONEachRow, or TabSeparated / RowBinary in the structure's column order
   * (RowBinary needs a structure on the embedded engine: chdb's raw insert takes text only).
   * @default 'JSONEachRow'
   */
  format?: 'JSONEachRow' | 'TabSeparated' | 'RowBinary';
  /**
   * The table's columns the rows hold, in their order (the others take their defaults). Needed
   * for a RowBinary or TabSeparated body that leaves a column out.
   * @default every column of the table, in its order
   */
  columns?: readonly string[];
}

/** ` (a, b, c)` after the table's name, or nothing for every column. */
function columnList(columns: readonly string[] | undefined): string {
  return columns ? ` (${columns.map(assertIdentifier).join(', ')})` : '';
}

export interface EmbeddedDatabaseOptions extends EmbeddedOptions {
  /** Where a failed memory purge after an insert is reported. @default a Node warning (no logger loaded: the offline CLI stays light) */
  logger?: Logger;
}

/** `embedded` applies to the embedded engine only (a server schedules its own queries). */
export async function openDatabase(
  config: ClickHouseConfig,
  embedded: EmbeddedDatabaseOptions = {},
): Promise<Database> {
  const name = assertIdentifier(config.database);
  return config.url
    ? openServer(config.url, name, config.cluster)
    : openEmbedded(config.dataDir, name, embedded);
}

/**
 * Resolves when ClickHouse answers and the database exists; throws CLICKHOUSE_UNAVAILABLE after
 * `waitMs`, in one line saying whether ClickHouse was unreachable or answered with an error.
 */
export async function waitForDatabase(db: Database, waitMs = 0): Promise<void> {
  const deadline = Date.now() + waitMs;
  await pRetry(() => db.prepare(), {
    retries: waitMs > 0 ? Number.POSITIVE_INFINITY : 0,
    minTimeout: 250,
    maxTimeout: 5_000,
    shouldRetry: () => Date.now() < deadline,
  }).catch((err: unknown) => {
    throw new ModelwatchError(
      'CLICKHOUSE_UNAVAILABLE',
      unavailableMessage(db.location, err, db.embedded),
      true,
      {
        cause: err,
      },
    );
  });
}

/**
 * chdb, imported only here: its native library is large and exists only for some platforms
 * (linux x64/arm64, macOS), so a service on a ClickHouse server must start without it.
 */
async function loadEnginePool(): Promise<typeof EnginePool> {
  try {
    return (await import('./engine-pool.js')).EnginePool;
  } catch (err) {
    throw new ModelwatchError(
      'CLICKHOUSE_UNAVAILABLE',
      `the embedded ClickHouse engine (the chdb package) cannot load on this platform (${errorMessage(err).split('\n')[0]}); set MODELWATCH_CLICKHOUSE_URL to a ClickHouse server`,
      false,
      { cause: err },
    );
  }
}

async function openEmbedded(
  dataDir: string,
  name: string,
  { logger, ...options }: EmbeddedDatabaseOptions,
): Promise<Database> {
  const dir = path.join(dataDir, 'clickhouse');
  await mkdir(dir, { recursive: true });
  let connection: EnginePool;
  try {
    const Pool = await loadEnginePool();
    performance.mark(ENGINE_MARKS.libraryLoaded);
    connection = new Pool(dir, options);
  } catch (err) {
    if (err instanceof ModelwatchError) throw err;
    throw new ModelwatchError(
      'CLICKHOUSE_UNAVAILABLE',
      `embedded ClickHouse at ${dir} could not open: ${errorMessage(err)}`,
      false,
      {
        cause: err,
      },
    );
  }
  // chdb's Connection types come from its own resolution of client-common; the shapes are the same.
  const client = createClient({
    connection: connection as unknown as ClientConnection,
    log: { level: ClickHouseLogLevel.OFF },
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  const prepare = async () => {
    await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${name}` });
    // The embedded engine ignores the client's `database` option; every statement starts with
    // `USE`, whichever connection runs it. One engine per process, so one database per process.
    connection.use(name);
  };
  await prepare();
  performance.mark(ENGINE_MARKS.opened);
  const spool = path.join(dataDir, 'spool');
  await mkdir(spool, { recursive: true });
  let spooled = 0;
  let purgedAt = 0;
  // The engine shares this process with Node; its allocator keeps freed insert buffers unless
  // told to return them (measured: peak RSS ~880 → ~700 MB over 200k 45-feature rows). ~1 ms.
  // Never fails the insert before it: the rows are stored, and a retry would store them again.
  const releaseMemory = async () => {
    if (Date.now() - purgedAt < 5_000) return;
    purgedAt = Date.now();
    await client.command({ query: 'SYSTEM JEMALLOC PURGE' }).catch((err: unknown) => {
      const message = 'SYSTEM JEMALLOC PURGE failed after an insert; the insert stands';
      if (logger) logger.warn({ err: errorMessage(err) }, message);
      else process.emitWarning(`${message}: ${errorMessage(err)}`);
    });
  };
  return {
    client,
    name,
    cluster: undefined,
    embedded: true,
    location: `embedded ClickHouse at ${dir}`,
    prepare,
    async insertJsonEachRow(table, body, options = {}) {
      if (body.length === 0) return;
      const target = `${name}.${assertIdentifier(table)}`;
      if (!options.structure) {
        if (options.format === 'RowBinary' || options.columns)
          throw new ModelwatchError(
            'BAD_REQUEST',
            'a RowBinary insert, or one naming columns, needs its structure',
          );
        await connection.rawInsert({
          table: target,
          format: options.format ?? 'JSONEachRow',
          values: body,
          settings: options.settings,
        });
        return;
      }
      const file = path.join(spool, `${process.pid}-${(spooled += 1)}.jsonl`);
      await writeFile(file, body);
      try {
        await client.command({
          query: `INSERT INTO ${target}${columnList(options.columns)} SELECT * FROM file({file:String}, {format:String}, {structure:String})`,
          query_params: { file, format: options.format ?? 'JSONEachRow', structure: options.structure },
          clickhouse_settings: options.settings,
        });
      } finally {
        await rm(file, { force: true });
      }
      await releaseMemory();
    },
    close: () => client.close(),
  };
}

/** The server URL without its path: the database is named separately (a path would override it). */
function serverOptions(url: string, database: string, requestTimeout: number) {
  const base = new URL(url);
  base.pathname = '/';
  return {
    url: base.toString(),
    database,
    request_timeout: requestTimeout,
    // Errors reach the caller as exceptions; the client's own console logging would double them.
    log: { level: ClickHouseLogLevel.OFF },
    clickhouse_settings: {
      send_progress_in_http_headers: 1 as const,
      http_headers_progress_interval_ms: '110000',
      // Numbers as JSON numbers, as the embedded engine returns them: one result shape for both.
      output_format_json_quote_64bit_integers: 0 as const,
    },
  };
}

/**
 * For writes: no progress headers. Once one is sent the status is 200 already, and an insert that
 * failed later (past `http_headers_progress_interval_ms`) would read as stored, its offsets
 * committed; the client looks for an exception in the body of query results only.
 */
export const WRITE_SETTINGS = { send_progress_in_http_headers: 0 } as const;

function openServer(url: string, name: string, cluster: string | undefined): Database {
  const client = createClient(serverOptions(url, name, 300_000));
  const prepare = async () => {
    const admin = createClient(serverOptions(url, 'default', 10_000));
    try {
      const onCluster = cluster ? ` ON CLUSTER ${assertIdentifier(cluster)}` : '';
      await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${name}${onCluster}` });
    } finally {
      await admin.close();
    }
  };
  return {
    client,
    name,
    cluster,
    embedded: false,
    location: `ClickHouse server ${maskUrl(url)}`,
    prepare,
    async insertJsonEachRow(table, body, options = {}) {
      if (body.length === 0) return;
      const settings = { ...WRITE_SETTINGS, ...options.settings };
      if (options.format === 'RowBinary') {
        // The client's insert takes text formats only; exec streams the bytes as they are.
        const result = await client.exec({
          query: `INSERT INTO ${assertIdentifier(table)}${columnList(options.columns)} FORMAT RowBinary`,
          values: Readable.from([body]),
          clickhouse_settings: settings,
        });
        result.stream.destroy();
        return;
      }
      await client.insert({
        table: assertIdentifier(table),
        columns: options.columns as [string, ...string[]] | undefined,
        values: Readable.from([body]),
        format: options.format ?? 'JSONEachRow',
        clickhouse_settings: settings,
      });
    },
    close: () => client.close(),
  };
}
