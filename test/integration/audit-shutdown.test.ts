import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { audit } from '../../src/audit/index.js';
import { accessEvent } from '../support/events.js';
import { produce, waitFor } from '../support/harness.js';
import { startTestService } from '../support/service.js';

/**
 * How long a stalled verification read lasts (a verification of 1M records takes ~25 s): twice
 * the 5 s within which the digest and the consumer's stop must come, so a shutdown that waited
 * for the read fails the checks below.
 */
const STALL_MS = 10_000;

/**
 * SPEC 8 publishes the chain heads at shutdown. The audit capability's stop awaited a verification
 * (or retention run) in progress first, so under the 8 s shutdown deadline the heads were never
 * published and the audit consumer did not leave its group (review26 #4). Here the verification's
 * read of the chain is held for 20 s, as over a long chain, and the service is closed meanwhile.
 */
describe('audit shutdown during a long verification', () => {
  it('leaves the group and publishes the shutdown digest at once, and the verification ends at its next row', async () => {
    const service = await startTestService({ MODELWATCH_AUDIT_BATCH_MAX_MS: '100' });
    const { consumer, digests, verifier } = service.use(audit);
    await produce(service.config.topics.accessLog, [accessEvent(1)], () => 'one-chain');
    const [head] = await waitFor('the access event chained', async () => {
      const rows = await service.rows<{ chain: string; position: number }>(
        "SELECT chain, position FROM audit_events WHERE kind = 'access'",
      );
      return rows.length > 0 ? rows : undefined;
    });

    const client = service.platform.db.client;
    const query = client.query.bind(client);
    let reading = false;
    let pagesRead = 0;
    client.query = async (params: Parameters<typeof query>[0]) => {
      if (params.query.includes('source_offset FROM audit_events')) {
        if (!reading) {
          reading = true;
          await sleep(STALL_MS);
        }
        pagesRead += 1;
      }
      return query(params);
    };
    const timings: Record<string, number> = {};
    const stopConsumer = consumer.stop.bind(consumer);
    consumer.stop = () => stopConsumer().then(() => void (timings['consumer'] = Date.now()));

    const verification = verifier.runOnce().then(
      () => 'finished',
      (err: unknown) => (err instanceof Error ? err.name : 'failed'),
    );
    await waitFor('the verification reading the chain', () => Promise.resolve(reading || undefined));
    const closedAt = Date.now();
    const closing = service.close();
    const published = await waitFor(
      'the shutdown digest',
      () => Promise.resolve(digests.published().find((e) => e.chain === head?.chain) ?? undefined),
      STALL_MS * 2,
      50,
    );
    const publishedAfterMs = Date.now() - closedAt;
    await closing;

    expect(published).toMatchObject({ chain: head?.chain, position: head?.position });
    expect(publishedAfterMs).toBeLessThan(5_000);
    expect((timings['consumer'] ?? Number.POSITIVE_INFINITY) - closedAt).toBeLessThan(5_000);
    // The page read in flight finished; the aborted verification read no more of the chain.
    expect(await verification).toBe('AbortError');
    expect(pagesRead).toBe(1);
  }, 120_000);
});
