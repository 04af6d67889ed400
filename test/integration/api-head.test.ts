import { describe, expect, it } from 'vitest';
import { auth } from '../../src/auth/index.js';
import { waitFor } from '../support/harness.js';
import { startTestService } from '../support/service.js';

/** The routes flagged `expensive`: each GET exports, verifies or renders a whole range. */
const COSTLY = [
  '/api/v1/audit/events?format=csv',
  '/api/v1/audit/verify',
  '/api/v1/predictions/p-1/provenance',
  '/api/v1/models/credit-risk/drift/report',
];

describe('HEAD on the costly routes (review 27 F10)', () => {
  it('is refused before any work: 405, no export record, and the costly-route budget left whole', async () => {
    const service = await startTestService({
      MODELWATCH_RATE_LIMIT_EXPENSIVE_PER_KEY: '2',
      MODELWATCH_AUDIT_BATCH_MAX_MS: '100',
    });
    const auditor = await service.use(auth).keys.create('auditor', 'head-auditor');
    const call = (method: 'GET' | 'HEAD', url: string) =>
      service.app.inject({ method, url, headers: { authorization: `Bearer ${auditor}` } });
    for (const url of COSTLY)
      for (let i = 0; i < 3; i++) {
        const head = await call('HEAD', url);
        expect(head.statusCode, `HEAD ${url}`).toBe(405);
        expect(head.headers['allow']).toBe('GET');
      }
    // Before the fix the second HEAD already spent the key's budget of 2.
    expect((await call('GET', COSTLY[0] ?? '')).statusCode).toBe(200);
    // All 13 calls and the GET's export audited; an export record of a HEAD went out before its call's.
    const audited = await waitFor('the calls and the export audited', async () => {
      const [row] = await service.rows<{ calls: string; exports: string }>(
        `SELECT countIf(kind = 'api') AS calls, countIf(action = 'export.run') AS exports
         FROM audit_events WHERE principal = 'head-auditor'`,
      );
      return Number(row?.calls) === 13 && Number(row?.exports) >= 1 ? row : undefined;
    });
    expect(Number(audited.exports)).toBe(1);
  }, 90_000);
});
