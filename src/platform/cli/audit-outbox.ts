/**
 * A CLI command that changes state on the database (`modelwatch keys create|revoke` with no
 * service on its port) has no audit log to send the change's record to: it queues the record in
 * `audit_outbox` (the audit capability's migration 102), and a service sends it (src/audit/outbox.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Database } from '../clickhouse/index.js';

/** The principal of a change made by a CLI command on the database (reserved: no key may take it). */
export const CLI_PRINCIPAL = 'modelwatch-cli';

/** A state change a command made, as SPEC 8's change record without its principal. */
export interface CommandChange {
  at: number;
  action: string;
  resource_type: string;
  resource_id: string;
  details: Record<string, unknown>;
}

/** Queues the change's record; its `outbox_id` tells a record sent twice (at least once) as one. */
export async function queueAuditChange(db: Database, change: CommandChange): Promise<void> {
  const id = randomUUID();
  const record = {
    kind: 'change',
    ...change,
    principal: CLI_PRINCIPAL,
    outcome: 'allowed',
    details: { ...change.details, outbox_id: id },
  };
  await db.client.insert({
    table: 'audit_outbox',
    format: 'JSONEachRow',
    values: [{ id, record: JSON.stringify(record) }],
  });
}
