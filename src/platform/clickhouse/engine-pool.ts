import type { Readable } from 'node:stream';
import {
  createChdbConnection,
  type ChdbConnection,
  type ChdbExtension,
  type ConnBaseQueryParams,
  type ConnCommandResult,
  type ConnExecParams,
  type ConnExecResult,
  type ConnInsertParams,
  type ConnInsertResult,
  type ConnPingResult,
  type ConnQueryResult,
  type Connection,
} from 'chdb/connection';
import { ModelwatchError } from '../errors.js';
import { bindStatements } from './bind-params.js';
import { SlotQueue } from './slot-queue.js';

/** How the embedded engine is shared between concurrent callers. */
export interface EmbeddedOptions {
  /**
   * Engine connections on the data directory. One connection runs one statement at a time, so
   * this is how many statements run in parallel. Each running statement holds a libuv worker
   * (4 unless UV_THREADPOOL_SIZE says otherwise), which file I/O and DNS share.
   * @default 2
   */
  connections?: number;
  /** `max_threads` for every statement; 0 leaves the engine's default (one per core). @default 0 */
  maxThreads?: number;
  /**
   * Reads (`query`) waiting for a connection beyond which a read is refused at once with an
   * EngineBusyError (503 with Retry-After through the API). Writes and pings always wait.
   * @default 1000
   */
  maxQueuedReads?: number;
}

type RawInsertParams = Parameters<ChdbExtension['rawInsert']>[0];

/**
 * `@clickhouse/client`'s connection over several chdb connections to one data directory,
 * handed out first come, first served. Query parameters are bound as session parameters of
 * the connection that runs the statement (see bind-params.ts), so parameterized reads run in
 * parallel instead of behind chdb-node's process-wide parameter chain.
 */
export class EnginePool implements Connection<Readable> {
  private readonly connections: ChdbConnection[] = [];
  private readonly queue: SlotQueue;
  private readonly running = new Set<Promise<unknown>>();
  private readonly maxThreads: number;
  private database: string | undefined;
  private closed = false;

  constructor(dir: string, options: EmbeddedOptions = {}) {
    const count = options.connections ?? 2;
    const maxThreads = options.maxThreads ?? 0;
    const maxQueued = options.maxQueuedReads ?? 1000;
    if (!Number.isInteger(count) || count < 1 || count > 64)
      throw new ModelwatchError('CONFIG_INVALID', `engine connections must be 1..64, not ${count}`);
    if (!Number.isInteger(maxThreads) || maxThreads < 0)
      throw new ModelwatchError(
        'CONFIG_INVALID',
        `engine max_threads must be a whole number ≥ 0, not ${maxThreads}`,
      );
    if (!Number.isInteger(maxQueued) || maxQueued < 0)
      throw new ModelwatchError(
        'CONFIG_INVALID',
        `engine maxQueuedReads must be a whole number ≥ 0, not ${maxQueued}`,
      );
    this.maxThreads = maxThreads;
    this.queue = new SlotQueue({ slots: count, maxQueued });
    try {
      for (let i = 0; i < count; i++) this.connections.push(createChdbConnection({ path: dir }));
    } catch (err) {
      for (const c of this.connections) void c.close();
      throw err;
    }
  }

  /** Statements run in this database from now on (chdb ignores the client's `database`). */
  use(database: string): void {
    this.database = database;
  }

  /** Statements waiting for a connection, and connections busy: for tests and gauges. */
  get load(): { waiting: number; busy: number } {
    return { waiting: this.queue.waiting, busy: this.queue.busy };
  }

  query(params: ConnBaseQueryParams): Promise<ConnQueryResult<Readable>> {
    return this.run((c, p) => c.query(p), params, { bounded: true });
  }

  command(params: ConnBaseQueryParams): Promise<ConnCommandResult> {
    return this.run((c, p) => c.command(p), params);
  }

  exec(params: ConnExecParams<Readable>): Promise<ConnExecResult<Readable>> {
    return this.run((c, p) => c.exec(p), params);
  }

  insert(params: ConnInsertParams<Readable>): Promise<ConnInsertResult> {
    return this.run((c, p) => c.insert(p), params);
  }

  /** Served before queued reads and writes, so readiness answers under load. */
  async ping(): Promise<ConnPingResult> {
    if (this.closed) return { success: false, error: new Error('embedded ClickHouse is closed') };
    return this.hold((c) => c.ping({ select: true }), { urgent: true });
  }

  /** chdb's zero-copy insert of bytes already in a format (qualified table name). */
  rawInsert(params: RawInsertParams): ReturnType<ChdbExtension['rawInsert']> {
    return this.hold((c) => c.chdb.rawInsert(params), {});
  }

  /** Refuses waiting statements, lets running ones finish (closing under them aborts the engine), then closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.queue.close(new ModelwatchError('CLICKHOUSE_UNAVAILABLE', 'embedded ClickHouse is closing', true));
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
    for (const c of this.connections) await c.close();
  }

  private run<P extends ConnBaseQueryParams, T>(
    op: (c: ChdbConnection, params: Omit<P, 'query_params'>) => Promise<T>,
    params: P,
    options: { bounded?: boolean } = {},
  ): Promise<T> {
    let query: string;
    try {
      query = this.prefix(params.query, params.query_params).join('; ');
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const { query_params: _bound, ...rest } = params;
    return this.hold((c) => op(c, { ...rest, query }), options);
  }

  private prefix(sql: string, params: Record<string, unknown> | undefined): string[] {
    const statements = bindStatements(sql, params);
    if (this.maxThreads > 0) statements.unshift(`SET max_threads = ${this.maxThreads}`);
    if (this.database !== undefined) statements.unshift(`USE ${this.database}`);
    return [...statements, sql];
  }

  private async hold<T>(
    op: (c: ChdbConnection) => Promise<T>,
    options: { urgent?: boolean; bounded?: boolean },
  ): Promise<T> {
    const slot = await this.queue.acquire(options);
    const connection = this.connections[slot.index];
    const running = (async () => {
      if (!connection)
        throw new ModelwatchError('CLICKHOUSE_UNAVAILABLE', `no engine connection ${slot.index}`);
      return op(connection);
    })();
    const settled = running.finally(() => slot.release());
    this.running.add(settled);
    void settled.then(
      () => this.running.delete(settled),
      () => this.running.delete(settled),
    );
    return settled;
  }
}
