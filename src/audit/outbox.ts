/**
 * Sends the records of state changes made where no audit log runs: `modelwatch keys create|revoke`
 * on the database of a stopped service (or of a ClickHouse server, with no service on the
 * command's port) queue them in `audit_outbox` (`queueAuditChange`, src/platform/cli). A key
 * created that way used to work with no `key.create` record anywhere.
 *
 * At least once: a service stopped between sending a record and deleting its row sends it again
 * at its next start, and two instances on one database that read a row in the same instant both
 * send it (each checks the row is still queued just before; the copies carry one `outbox_id`).
 */
import type { Database } from '../platform/clickhouse/index.js';
import { errorMessage } from '../platform/errors.js';
import type { Logger } from '../platform/observability/index.js';
import type { AuditLog } from './audit-log.js';
import type { AuditRecordInput } from './record.js';

const SYNC = { mutations_sync: '2' } as const;

/** Records sent per run; the rest wait for the next. */
const BATCH = 1_000;

/**
 * Sends the queued records in the order they were queued, each deleted once Kafka acknowledged it;
 * returns how many went. A record the log refuses (a CLI host's clock a day ahead, say) is logged
 * and stays queued, and the others go on: one bad row held back every later one, and re-sent the
 * earlier ones every minute.
 */
export async function sendQueued(
  db: Database,
  log: Pick<AuditLog, 'record'>,
  logger: Logger,
): Promise<number> {
  const result = await db.client.query({
    query: `SELECT id, record FROM audit_outbox ORDER BY queued_at, id LIMIT ${BATCH}`,
    format: 'JSONEachRow',
  });
  let sent = 0;
  for (const row of await result.json<{ id: string; record: string }>()) {
    // Another instance on this database may have sent it since this run read it.
    if (!(await stillQueued(db, row.id))) continue;
    try {
      await log.record(JSON.parse(row.record) as AuditRecordInput);
    } catch (err) {
      logger.error(
        { err: errorMessage(err), outbox_id: row.id, record: row.record },
        'a queued audit record was not sent; it stays queued',
      );
      continue;
    }
    await db.client.command({
      query: 'ALTER TABLE audit_outbox DELETE WHERE id = {id:String}',
      query_params: { id: row.id },
      clickhouse_settings: SYNC,
    });
    sent += 1;
  }
  if (sent > 0) logger.info({ records: sent }, 'audit records of changes made by the CLI sent');
  return sent;
}

async function stillQueued(db: Database, id: string): Promise<boolean> {
  const result = await db.client.query({
    query: 'SELECT count() AS n FROM audit_outbox WHERE id = {id:String}',
    query_params: { id },
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ n: number | string }>();
  return Number(row?.n ?? 0) > 0;
}
