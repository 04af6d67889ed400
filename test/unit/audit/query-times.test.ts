import { describe, expect, it } from 'vitest';
import { AuditError, parseAuditQuery } from '../../../src/audit/index.js';

function refusal(input: Record<string, unknown>): string | undefined {
  try {
    parseAuditQuery(input);
  } catch (err) {
    expect(err).toBeInstanceOf(AuditError);
    return `${(err as AuditError).field}: ${(err as AuditError).message}`;
  }
  return undefined;
}

describe('the times of GET /audit/events (the strict parser every route uses)', () => {
  it('refuses a day, hour or offset that does not exist, never rolling it over', () => {
    for (const from of [
      '2026-02-30T00:00:00Z',
      '2026-01-01T24:00:00Z',
      '2026-13-01',
      '2026-01-01T00:00:00+25:00',
    ])
      expect(refusal({ from }), from).toMatch(/^from: from must be an ISO-8601 time/);
    expect(refusal({ to: '2026-02-29' })).toMatch(/^to: /);
  });

  it('takes a day, a time without an offset (UTC), an offset, or epoch milliseconds', () => {
    const feb = Date.UTC(2026, 1, 1);
    expect(parseAuditQuery({ from: '2026-02-01', to: '2026-03-01' })).toEqual({
      from: feb,
      to: Date.UTC(2026, 2, 1),
    });
    expect(parseAuditQuery({ from: '2026-02-01T00:00:00' }).from).toBe(feb);
    expect(parseAuditQuery({ from: '2026-02-01T02:00:00+02:00' }).from).toBe(feb);
    expect(parseAuditQuery({ from: '2026-02-01T00:00:00.123456Z' }).from).toBe(feb + 123);
    expect(parseAuditQuery({ from: feb }).from).toBe(feb);
  });

  it('still refuses what it refused before', () => {
    expect(refusal({ from: '9999-01-01T00:00:00Z' })).toMatch(/^from: /);
    expect(refusal({ from: 'tomorrow' })).toMatch(/^from: /);
    expect(refusal({ from: 1.5 })).toMatch(/^from: /);
    expect(refusal({ from: '2026-02-01', to: '2026-01-01' })).toBe('from: from must not be after to');
  });
});
