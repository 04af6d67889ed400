import { describe, expect, it } from 'vitest';
import { audit } from '../../src/audit/index.js';
import { waitFor } from '../support/harness.js';
import { startTestService, type TestService } from '../support/service.js';

/**
 * `source_offset` is not hashed: one edit of a chain's head (to 9e18) made the writer skip every
 * later record of its partition as already chained, silently. Through the broker, the consumer
 * now holds the chain (readiness off, a gauge, an error log) until the row is repaired, then
 * chains what waited; the periodic verification names the head.
 */
async function chainOf(service: TestService, key: string, count: number): Promise<string> {
  return waitFor(`${count} record(s) of ${key} chained`, async () => {
    const rows = await service.rows<{ chain: string }>(
      'SELECT DISTINCT chain, position FROM audit_events WHERE resource_id = {key:String}',
      { key },
    );
    return rows.length === count ? rows[0]?.chain : undefined;
  });
}

describe('an edited source_offset at a chain head, through the service', () => {
  it('holds the chain instead of skipping what follows, and resumes once repaired', async () => {
    const service = await startTestService({ MODELWATCH_AUDIT_BATCH_MAX_MS: '100' });
    const { log, consumer, verifier } = service.use(audit);
    const change = () =>
      log.change({
        principal: 'admin',
        action: 'key.create',
        resource_type: 'api_key',
        resource_id: 'k-held',
        details: { role: 'viewer' },
      });
    await change();
    const chain = await chainOf(service, 'k-held', 1);
    const [head] = await service.rows<{ position: string; offset: string }>(
      'SELECT position, source_offset AS offset FROM audit_events WHERE chain = {chain:String} ORDER BY position DESC LIMIT 1',
      { chain },
    );
    const setHeadOffset = (offset: string) =>
      service.platform.db.client.command({
        query: `ALTER TABLE audit_events UPDATE source_offset = ${offset} WHERE chain = {chain:String} AND position = {position:UInt64}`,
        query_params: { chain, position: head?.position },
        clickhouse_settings: { mutations_sync: '2' },
      });
    await setHeadOffset('9000000000000000000');

    await change();
    // Before, the record was skipped as already chained and readiness stayed on.
    const ready = await waitFor('readiness off', async () => {
      const answer = await service.app.inject({ method: 'GET', url: '/readyz' });
      return answer.statusCode === 503 ? answer.json<unknown>() : undefined;
    });
    expect(ready).toMatchObject({ ready: false, checks: { audit: false } });
    expect([...consumer.corrupt]).toEqual([chain]);
    expect(
      (await verifier.runOnce()).broken.find((b) => b.chain === chain && b.reason === 'offset_beyond_end'),
    ).toMatchObject({ position: Number(head?.position) });

    await setHeadOffset(head?.offset ?? '-1');
    await chainOf(service, 'k-held', 2);
    expect(consumer.corrupt.size).toBe(0);
    expect(await verifier.runOnce()).toMatchObject({ ok: true });
  }, 120_000);
});
