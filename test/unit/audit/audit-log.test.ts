import type { Producer } from 'kafkajs';
import { Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { AuditLog } from '../../../src/audit/index.js';
import { createLogger } from '../../../src/platform/observability/index.js';
import { recordingLog } from '../../support/recording-audit-log.js';

const call = {
  at: Date.UTC(2026, 0, 1),
  principal: 'viewer-1',
  method: 'GET',
  route: '/api/v1/models/:model/metrics',
  status: 200,
} as const;

describe('AuditLog.call', () => {
  it('records a call whose parameters the record refuses without them, flagged, keeping a valid model/entity (regression: the call was not audited)', async () => {
    const { log, sent, logger } = await recordingLog();
    const warn = vi.spyOn(logger, 'warn');
    await log.call({ ...call, params: { x: 'a\ud83d' }, model_id: 'm\ud83d', entity_id: 'e' });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ principal: 'viewer-1', details: { status: 200, params_dropped: true } });
    expect(sent[0]?.details).not.toHaveProperty('params');
    // The refused model id goes; the valid entity id stays, so the call can still be found by it.
    expect(sent[0]).not.toHaveProperty('model_id');
    expect(sent[0]).toMatchObject({ entity_id: 'e' });
    expect(log.lost).toBe(0);
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('never throws, not even synchronously: a record refused without parameters too is logged and counted', async () => {
    const { log, sent, logger } = await recordingLog();
    const error = vi.spyOn(logger, 'error');
    let pending: Promise<void> | undefined;
    expect(() => {
      pending = log.call({ ...call, principal: '' });
    }).not.toThrow();
    await pending;
    expect(sent).toEqual([]);
    expect(log.lost).toBe(1);
    expect(error).toHaveBeenCalledTimes(1);
  });

  it('record() rejects a refused record instead of throwing', async () => {
    const { log } = await recordingLog();
    let pending: Promise<void> | undefined;
    expect(() => {
      pending = log.change({
        principal: '',
        action: 'key.create',
        resource_type: 'api_key',
        resource_id: 'k',
      });
    }).not.toThrow();
    await expect(pending).rejects.toMatchObject({ code: 'INVALID_RECORD', field: 'principal' });
  });

  it('exports lost records as modelwatch_audit_records_lost_total (regression: only a field no metric read)', async () => {
    const registry = new Registry();
    const producer = {
      send: () => Promise.reject(new Error('broker unreachable')),
    } as unknown as Producer;
    const log = new AuditLog({ producer, topic: 'audit', logger: createLogger('silent', 'lost'), registry });
    await log.start();
    const lost = async () =>
      (await registry.getSingleMetric('modelwatch_audit_records_lost_total')?.get())?.values[0]?.value;
    expect(await lost()).toBe(0);
    await log.call(call);
    await log.call(call);
    expect(log.lost).toBe(2);
    expect(await lost()).toBe(2);
  });
});
