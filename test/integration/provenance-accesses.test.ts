import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PROVENANCE_ACCESSES, auditMigrations, readProvenance } from '../../src/audit/index.js';
import { collectorMigrations } from '../../src/collectors/schema.js';
import { migrate, openDatabase, type Database } from '../../src/platform/clickhouse/index.js';
import { shadowMigrations } from '../../src/shadow/schema.js';

/**
 * A provenance answer's audit records and their total: the total is the list's length whenever
 * the list is not full (the two had been read apart, so a record stored in between made them
 * disagree), and counts the records beyond the listed ones when it is.
 */
let db: Database;
let dataDir: string;

async function addAccesses(predictionId: string, count: number, chain: string): Promise<void> {
  await db.client.command({
    query: `INSERT INTO audit_events (chain, position, prev_hash, hash, record, kind, at, principal, action, resource_type, resource_id, model_id, entity_id, outcome)
            SELECT {chain:String}, number, '', hex(SHA256(toString(number))),
                   concat('{"kind":"access","resource_type":"prediction","resource_id":"', {id:String}, '"}'),
                   'access', now64(3), 'someone', 'read', 'prediction', {id:String}, 'm', '', 'allowed'
            FROM numbers({count:UInt64})`,
    query_params: { chain, id: predictionId, count },
  });
}

async function addPrediction(id: string): Promise<void> {
  await db.client.command({
    query: `INSERT INTO predictions (model_id, model_version, prediction_id, timestamp, prediction, is_error)
            VALUES ('m', '1', {id:String}, now64(3), '1', false)`,
    query_params: { id },
  });
}

/** An API call's record, stored as the chain writer would (link columns aside). */
async function addApiCall(position: number, action: string, params: Record<string, string>): Promise<void> {
  const record = JSON.stringify({ kind: 'api', action, details: { params } });
  await db.client.insert({
    table: 'audit_events',
    format: 'JSONEachRow',
    values: [
      {
        chain: 'chain-api',
        position,
        prev_hash: '',
        hash: `h${position}`,
        record,
        kind: 'api',
        at: Date.UTC(2026, 0, 1, 0, 0, position),
        principal: 'auditor',
        action,
        resource_type: 'api',
        resource_id: action,
        entity_id: params['entity_id'] ?? '',
        outcome: 'allowed',
      },
    ],
  });
}

const provenance = (id: string) => readProvenance({ db, versions: () => Promise.resolve([]) }, id);

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'modelwatch-provenance-accesses-'));
  db = await openDatabase({ url: undefined, cluster: undefined, database: 'provenance_accesses', dataDir });
  await migrate(db, [...collectorMigrations, ...shadowMigrations, ...auditMigrations]);
}, 300_000);

afterAll(async () => {
  await db.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('provenance accesses', () => {
  it('totals a list that is not full as the list itself, a retried copy once', async () => {
    await addPrediction('few');
    await addAccesses('few', 3, 'chain-few');
    await addAccesses('few', 1, 'chain-few'); // a retried write of position 0
    const answer = await provenance('few');
    expect(answer?.accesses.map((a) => a.position)).toEqual([0, 1, 2]);
    expect(answer?.accesses_total).toBe(3);
  });

  it(`lists ${MAX_PROVENANCE_ACCESSES} records and counts the rest`, async () => {
    await addPrediction('many');
    await addAccesses('many', MAX_PROVENANCE_ACCESSES + 5, 'chain-many');
    const answer = await provenance('many');
    expect(answer?.accesses).toHaveLength(MAX_PROVENANCE_ACCESSES);
    expect(answer?.accesses_total).toBe(MAX_PROVENANCE_ACCESSES + 5);
  });

  it('labels an API call by what it matched: the provenance route for this id, or only the entity', async () => {
    await db.client.command({
      query: `INSERT INTO predictions (model_id, model_version, prediction_id, timestamp, prediction, is_error, entity_id)
              VALUES ('m', '1', 'subject', now64(3), '1', false, 'customer-9')`,
    });
    await addApiCall(1, 'GET /api/v1/predictions/:id/provenance', { id: 'subject' });
    await addApiCall(2, 'GET /api/v1/audit/events', { entity_id: 'customer-9' });
    await addApiCall(3, 'GET /api/v1/predictions/:id/provenance', { id: 'other', entity_id: 'customer-9' });
    const answer = await provenance('subject');
    expect(answer?.accesses.map((a) => [a.position, a.matched])).toEqual([
      [1, 'prediction'],
      [2, 'entity'],
      [3, 'entity'],
    ]);
  });
});
