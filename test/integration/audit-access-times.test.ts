/**
 * SPEC 8: every access-log event is an audit record. The chain writers read `ml.access-log` with
 * a stricter parser than the collectors (a time with a zone from 1970 on, principals up to 256
 * characters), so events the collectors stored were skipped silently and never chained.
 */
import { describe, expect, it } from 'vitest';
import { verifyStore } from '../../src/audit/index.js';
import { accessEvent } from '../support/events.js';
import { produce, waitFor } from '../support/harness.js';
import { startTestService } from '../support/service.js';

const LONG_PRINCIPAL = `svc-${'x'.repeat(396)}`;

/** Event id → what the producer sent, and the instant it means. */
const SENT: Record<string, { overrides: Record<string, unknown>; at: string }> = {
  'no-zone': { overrides: { timestamp: '2026-11-25T12:00:00' }, at: '2026-11-25T12:00:00.000Z' },
  'plus-0100': { overrides: { timestamp: '2026-11-25T13:00:00+0100' }, at: '2026-11-25T12:00:00.000Z' },
  'long-principal': {
    overrides: { timestamp: '2026-11-25 12:00:01', principal: LONG_PRINCIPAL },
    at: '2026-11-25T12:00:01.000Z',
  },
  'before-1970': { overrides: { timestamp: '1955-06-01' }, at: '1955-06-01T00:00:00.000Z' },
};

interface Chained {
  event_id: string;
  principal: string;
  at_ms: number | string;
}

describe('access events chained as the collectors read them', () => {
  it('chains events without a zone, with +0100, before 1970 and with a 400-character principal; the chain verifies', async () => {
    const service = await startTestService({ MODELWATCH_AUDIT_BATCH_MAX_MS: '100' });
    const ids = Object.keys(SENT);
    await produce(
      service.config.topics.accessLog,
      ids.map((id, i) => accessEvent(i, { event_id: id, ...SENT[id]?.overrides })),
      () => 'one-chain',
    );
    const chained = await waitFor('every access event chained', async () => {
      const rows = await service.rows<Chained>(
        `SELECT JSONExtractString(record, 'details', 'event_id') AS event_id, principal,
                toUnixTimestamp64Milli(at) AS at_ms
         FROM audit_events WHERE kind = 'access' ORDER BY event_id`,
      );
      return rows.length >= ids.length ? rows : undefined;
    });
    const instants = (rows: { event_id: string; ms: number | string }[]) =>
      Object.fromEntries(rows.map((r) => [r.event_id, new Date(Number(r.ms)).toISOString()]));
    const chainedAt = instants(chained.map((r) => ({ event_id: r.event_id, ms: r.at_ms })));
    expect(chainedAt).toEqual(Object.fromEntries(ids.map((id) => [id, SENT[id]?.at])));
    expect(chained.find((r) => r.event_id === 'long-principal')?.principal).toBe(LONG_PRINCIPAL);

    // The collectors stored the same events at the same instants.
    const stored = await waitFor('every access event stored', async () => {
      const rows = await service.rows<{ event_id: string; ms: number | string }>(
        'SELECT event_id, toUnixTimestamp64Milli(timestamp) AS ms FROM access_log FINAL',
      );
      return rows.length >= ids.length ? rows : undefined;
    });
    expect(instants(stored)).toEqual(chainedAt);

    // The extracted columns (a time before 1970 too) match the hashed records.
    expect(await verifyStore(service.platform.db)).toMatchObject({ ok: true, broken: [] });
    const found = await service.app.inject({
      method: 'GET',
      url: `/api/v1/audit/events?principal=${LONG_PRINCIPAL}`,
      headers: { authorization: `Bearer ${service.config.api.adminKey ?? ''}` },
    });
    expect([found.statusCode, found.body.includes('"long-principal"')]).toEqual([200, true]);
  }, 120_000);
});
