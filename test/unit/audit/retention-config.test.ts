import { describe, expect, it } from 'vitest';
import { AUDIT_RETENTION_FLOOR_MS, loadConfig } from '../../../src/platform/config/index.js';

const DAY = 86_400_000;

describe('retention configuration', () => {
  it('keeps audit records 365 days and predictions and labels forever by default', () => {
    expect(loadConfig({}).audit.retention).toEqual({
      predictionsMs: undefined,
      labelsMs: undefined,
      auditMs: 365 * DAY,
      forced: false,
      intervalMs: 3_600_000,
    });
    expect(AUDIT_RETENTION_FLOOR_MS).toBe(183 * DAY);
  });

  it('refuses audit retention under six months unless forced, naming the variable', () => {
    expect(() => loadConfig({ MODELWATCH_RETENTION_AUDIT: '182d' })).toThrow(
      /MODELWATCH_RETENTION_AUDIT: audit records are kept at least 183d .*MODELWATCH_RETENTION_AUDIT_FORCE=true/,
    );
    expect(loadConfig({ MODELWATCH_RETENTION_AUDIT: '183d' }).audit.retention.auditMs).toBe(183 * DAY);
    const forced = loadConfig({ MODELWATCH_RETENTION_AUDIT: '1d', MODELWATCH_RETENTION_AUDIT_FORCE: 'true' });
    expect(forced.audit.retention).toMatchObject({ auditMs: DAY, forced: true });
  });

  it('takes durations for predictions and labels and refuses bad ones', () => {
    const config = loadConfig({
      MODELWATCH_RETENTION_PREDICTIONS: '90d',
      MODELWATCH_RETENTION_LABELS: '12h',
    });
    expect(config.audit.retention).toMatchObject({ predictionsMs: 90 * DAY, labelsMs: 12 * 3_600_000 });
    for (const [name, value] of [
      ['MODELWATCH_RETENTION_PREDICTIONS', '0d'],
      ['MODELWATCH_RETENTION_LABELS', 'forever'],
      ['MODELWATCH_RETENTION_PREDICTIONS', '99999d'],
      ['MODELWATCH_RETENTION_INTERVAL', '10ms'],
      ['MODELWATCH_RETENTION_AUDIT_FORCE', 'maybe'],
    ] as const)
      expect(() => loadConfig({ [name]: value }), `${name}=${value}`).toThrow(new RegExp(name));
  });
});
