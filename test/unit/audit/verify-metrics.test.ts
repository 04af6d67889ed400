import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createAuditVerifier } from '../../../src/audit/verify-metrics.js';

// Before the first verification the gauges said "verified" (a restart on a broken chain looked
// intact) and the last verification was 0 (1970: "56 years ago" on the governance dashboard).

const series = (text: string, name: string) =>
  text.split('\n').filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`));

describe('audit verification gauges', () => {
  it('have no series until the first verification, then its result', async () => {
    const registry = new Registry();
    const verifier = createAuditVerifier({
      db: undefined as never,
      registry,
      logger: pino({ level: 'silent' }),
      digests: () => [],
    });
    const before = await registry.metrics();
    for (const name of [
      'modelwatch_audit_chains_verified',
      'modelwatch_audit_chains_broken',
      'modelwatch_audit_last_verification_seconds',
    ])
      expect(series(before, name), name).toEqual([]);
    // The error counter starts at 0 as counters do.
    expect(series(before, 'modelwatch_audit_verification_errors_total')).toEqual([
      'modelwatch_audit_verification_errors_total 0',
    ]);

    const at = Date.now() / 1000;
    verifier.record({ ok: true, checked: 3, chains: 1, broken: [] });
    const after = await registry.metrics();
    expect(series(after, 'modelwatch_audit_chains_verified')).toEqual(['modelwatch_audit_chains_verified 1']);
    expect(series(after, 'modelwatch_audit_chains_broken')).toEqual(['modelwatch_audit_chains_broken 0']);
    const [last] = series(after, 'modelwatch_audit_last_verification_seconds');
    expect(Number(last?.split(' ')[1])).toBeGreaterThanOrEqual(Math.floor(at));
  });
});
