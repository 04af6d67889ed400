/**
 * Sends the records of state changes made where no audit log runs: `modelwatch keys create|revoke`
 * on the database of a stopped service (or of a ClickHouse server, with no service on the
 * command's port) queue them in `audit_outbox` (`queueAuditChange`, src/platform/cli). A key
 * created that way used to work with no `key.create` record anywhere.
 *
 * At least once: a service stopped between sending a record and deleting its row sends it again
 * at its next start (the copy carries the same `outbox_id` in its details).
 */
import type { Database } from '../platform/clickhouse/index.js';
import type { Logger } from '../platform/observability/index.js';
import type { AuditLog } from './audit-log.js';
import type { AuditRecordInput } from './record.js';

const SYNC = { mutations_sync: '2' } as const;

/** Records sent per run; the rest wait for the next. */
const BATCH = 1_000;

/** Sends the queued records in the order they were queued, then deletes them; returns how many. */
export async function sendQueued(
  db: Database,
  log: Pick<AuditLog, 'record'>,
  logger: Logger,
): Promise<number> {
  const result = await db.client.query({
    query: `SELECT id, record FROM audit_outbox ORDER BY queued_at, id LIMIT ${BATCH}`,
    format: 'JSONEachRow',
  });
  const rows = await result.json<{ id: string; record: string }>();
  if (rows.length === 0) return 0;
  // Validated again by the log: a row that no longer parses fails the run, and it stays queued.
  for (const row of rows) await log.record(JSON.parse(row.record) as AuditRecordInput);
  await db.client.command({
    query: 'ALTER TABLE audit_outbox DELETE WHERE id IN {ids:Array(String)}',
    query_params: { ids: rows.map((r) => r.id) },
    clickhouse_settings: SYNC,
  });
  logger.info({ records: rows.length }, 'audit records of changes made by the CLI sent');
  return rows.length;
}
