/**
 * The audit outbox (src/audit/outbox.ts): records of changes the CLI made on the database, sent by
 * a service through its audit log. Each row goes once and is deleted once sent; a row the log
 * refuses stays queued without holding back the rows after it.
 */
import { describe, expect, it, vi } from 'vitest';
import { audit, type AuditRecordInput } from '../../src/audit/index.js';
import { CLI_PRINCIPAL, queueAuditChange } from '../../src/platform/cli/index.js';
import { waitFor } from '../support/harness.js';
import { startTestService } from '../support/service.js';

const DAY = 86_400_000;

describe('the audit outbox', () => {
  it('sends each queued record once, in order, and keeps a refused one queued without blocking the rest', async () => {
    const service = await startTestService();
    const db = service.platform.db;
    const change = (id: string, at: number) => ({
      at,
      action: 'key.create',
      resource_type: 'api_key',
      resource_id: id,
      details: { role: 'viewer', name: `outbox-${id}` },
    });
    const { outbox, log } = service.use(audit);
    // The order the outbox hands records to the audit log, and which of them the log took: the
    // chain read back below is ordered by the records' own `at`, whatever order they were sent in.
    const record = log.record.bind(log);
    const handed: string[] = [];
    const taken: string[] = [];
    vi.spyOn(log, 'record').mockImplementation(async (input: AuditRecordInput) => {
      const fromOutbox = input.principal === CLI_PRINCIPAL;
      if (fromOutbox) handed.push(input.resource_id);
      await record(input);
      if (fromOutbox) taken.push(input.resource_id);
    });
    // Its own runs stopped before anything is queued (the first comes up to 5 s after start, and
    // one that came between two of the inserts below sent part of them: a flaky count of 1).
    await outbox.stop();
    await queueAuditChange(db, change('aaaa', Date.now()));
    // From a host whose clock runs two days ahead: the record is refused (`at` in the future).
    await queueAuditChange(db, change('bbbb', Date.now() + 2 * DAY));
    await queueAuditChange(db, change('cccc', Date.now()));

    // These two runs are the only ones.
    expect(await outbox.runOnce()).toBe(2);
    expect(await outbox.runOnce()).toBe(0);
    // Queue order, the refused one tried again in the second run.
    expect(handed).toEqual(['aaaa', 'bbbb', 'cccc', 'bbbb']);
    expect(taken).toEqual(['aaaa', 'cccc']);
    const queued = await service.rows<{ record: string }>('SELECT record FROM audit_outbox');
    expect(queued.map((r) => (JSON.parse(r.record) as { resource_id: string }).resource_id)).toEqual([
      'bbbb',
    ]);

    const chained = await waitFor('the two records chained', async () => {
      const rows = await service.rows<{ resource_id: string }>(
        "SELECT resource_id FROM audit_events WHERE principal = 'modelwatch-cli' ORDER BY at, resource_id",
      );
      return rows.length >= 2 ? rows : undefined;
    });
    // Let a copy sent twice reach the chain before counting.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const again = await service.rows<{ resource_id: string }>(
      "SELECT resource_id FROM audit_events WHERE principal = 'modelwatch-cli' ORDER BY at, resource_id",
    );
    expect(chained.map((r) => r.resource_id)).toEqual(['aaaa', 'cccc']);
    expect(again).toEqual(chained);
  }, 60_000);
});
