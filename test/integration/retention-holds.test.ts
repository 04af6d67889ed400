import { describe, expect, it } from 'vitest';
import {
  ChainWriter,
  LegalHolds,
  RetentionJob,
  changeRecord,
  readAnchors,
  verifyStore,
  type AuditRecorder,
  type RetentionPolicy,
} from '../../src/audit/index.js';
import type { RowCopies } from '../../src/audit/retention.js';
import type { Database } from '../../src/platform/clickhouse/index.js';
import { createLogger } from '../../src/platform/observability/index.js';
import { useMigratedEngine } from '../support/engine.js';
import { allMigrations } from '../support/migrations.js';
import { sampleRecord } from '../unit/audit/rows.js';

/**
 * Retention against the embedded engine (SPEC 8): the collectors' `access_log` copy of the access
 * events goes at the audit cutoff (review26 #2: it was never deleted), and a legal hold set while
 * a run is in progress stops that run's deletions (review26 #7: the holds were read once, at the
 * start). The interleavings are forced through the recorder and the copies, which the job awaits
 * between counting and deleting.
 */

let db: Database;
useMigratedEngine('retention_holds', allMigrations, (opened) => (db = opened));

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);
const NOW = T0 + 300 * DAY;
const OLD = NOW - 60 * DAY;
const AUDIT_ONLY: RetentionPolicy = { predictionsMs: undefined, labelsMs: undefined, auditMs: 30 * DAY };

async function n(query: string): Promise<number> {
  const result = await db.client.query({ query, format: 'JSONEachRow' });
  return Number((await result.json<{ n: number | string }>())[0]?.n);
}

async function insert(table: string, values: Record<string, unknown>[]): Promise<void> {
  await db.client.insert({ table, format: 'JSONEachRow', values });
}

function accessRow(id: string, model: string, at: number): Record<string, unknown> {
  return {
    event_id: id,
    timestamp: at,
    principal: 'analyst',
    action: 'read',
    resource_type: 'prediction',
    resource_id: id,
    model_id: model,
    entity_id: 'customer-1',
    purpose: 'support',
    outcome: 'allowed',
    source_ip: '10.0.0.1',
  };
}

function predictionRow(id: string, model: string, at: number): Record<string, unknown> {
  return { model_id: model, model_version: '1', prediction_id: id, timestamp: at, prediction: '1' };
}

/** A recorder keeping what it is sent, running `during(change)` before it acknowledges. */
function recorder(during: (resourceType: string) => Promise<void> = () => Promise.resolve()) {
  const sent: Parameters<AuditRecorder['change']>[0][] = [];
  const log: AuditRecorder = {
    async change(change) {
      sent.push(change);
      await during(change.resource_type);
    },
  };
  return { log, sent };
}

function job(log: AuditRecorder, policy: RetentionPolicy, copies?: RowCopies): RetentionJob {
  return new RetentionJob({
    db,
    recorder: log,
    holds: new LegalHolds(db),
    logger: createLogger('silent', 'retention-holds-test'),
    policy,
    recordWaitMs: 10_000,
    ...(copies ? { copies } : {}),
  });
}

describe('retention and legal holds', () => {
  it('deletes access_log rows older than the audit retention, except a held model’s, and audits it', async () => {
    await insert('access_log', [
      accessRow('al-1', 'al-free', OLD),
      accessRow('al-2', 'al-free', OLD + 1),
      accessRow('al-3', '', OLD + 2),
      accessRow('al-4', 'al-held', OLD + 3),
      accessRow('al-5', 'al-free', NOW - DAY),
    ]);
    await new LegalHolds(db).write('al-held', true, 'case 1', 'admin', NOW - DAY);
    const { log, sent } = recorder();

    const report = await job(log, AUDIT_ONLY).run(NOW);

    expect(report.access_log).toBe(3);
    const left = await db.client.query({
      query: 'SELECT event_id FROM access_log FINAL ORDER BY event_id',
      format: 'JSONEachRow',
    });
    expect(await left.json()).toEqual([{ event_id: 'al-4' }, { event_id: 'al-5' }]);
    expect(sent.filter((c) => c.resource_type === 'access_log')).toEqual([
      {
        principal: 'retention',
        action: 'retention.delete',
        resource_type: 'access_log',
        resource_id: 'access_log',
        details: { cutoff: new Date(NOW - 30 * DAY).toISOString(), rows: 3, held_models: ['al-held'] },
      },
    ]);
  });

  it('keeps the rows of a model held after the deletion was recorded, and does not report them deleted', async () => {
    await insert('predictions', [
      ...[1, 2, 3].map((i) => predictionRow(`rh-a-${i}`, 'rh-a', OLD + i)),
      ...[1, 2, 3].map((i) => predictionRow(`rh-b-${i}`, 'rh-b', OLD + i)),
      ...[1, 2].map((i) => predictionRow(`rh-c-${i}`, 'rh-c', OLD + i)),
    ]);
    const holds = new LegalHolds(db);
    // rh-a is held once the record is acknowledged, rh-b while the copies are removed: both after
    // the job read the holds and counted.
    const { log, sent } = recorder(async (type) => {
      if (type === 'predictions') await holds.write('rh-a', true, 'case 2', 'admin', NOW);
    });
    const copies: RowCopies = {
      tables: { predictions: [], labels: [] },
      remove: () => holds.write('rh-b', true, 'case 3', 'admin', NOW).then(() => undefined),
    };

    const report = await job(log, { ...AUDIT_ONLY, predictionsMs: 30 * DAY }, copies).run(NOW);

    const left = (model: string) =>
      n(`SELECT count() AS n FROM predictions FINAL WHERE model_id = '${model}'`);
    expect([await left('rh-a'), await left('rh-b'), await left('rh-c')]).toEqual([3, 3, 0]);
    expect(report.predictions).toBe(2);
    // The record was sent before the holds: it counted every old row.
    expect(sent.find((c) => c.resource_type === 'predictions')?.details).toMatchObject({ rows: 8 });
  });

  it('keeps an audit chain’s prefix when a hold on one of its models is set while the trim waits for its record', async () => {
    const writers = new Map<string, ChainWriter>();
    const writer = async (chain: string) => {
      const opened = writers.get(chain) ?? (await ChainWriter.open(db, chain, { now: () => NOW }));
      writers.set(chain, opened);
      return opened;
    };
    // 30 old records (every third of model credit-risk), then 3 recent ones.
    await (
      await writer('held-chain')
    ).append(Array.from({ length: 30 }, (_, i) => ({ record: sampleRecord(i) })));
    await (
      await writer('held-chain')
    ).append([97, 98, 99].map((i) => ({ record: { ...sampleRecord(i), at: new Date(NOW).toISOString() } })));
    const holds = new LegalHolds(db);
    // Chains the record (as the audit consumer would) after a hold was set on credit-risk.
    const { log } = recorder(async (type) => {
      if (type !== 'audit_chain') return;
      await holds.write('credit-risk', true, 'case 4', 'admin', NOW);
    });
    const chaining: AuditRecorder = {
      async change(change) {
        await log.change(change);
        await (await writer('records')).append([{ record: changeRecord({ ...change, at: NOW }) }]);
      },
    };

    const report = await job(chaining, AUDIT_ONLY).run(NOW);

    expect(report.audit).toEqual([]);
    expect(report.refused).toEqual([
      { chain: 'held-chain', reason: 'a legal hold set during the run covers records of its prefix' },
    ]);
    expect((await readAnchors(db)).get('held-chain')).toBeUndefined();
    expect(await n(`SELECT min(position) AS n FROM audit_events WHERE chain = 'held-chain'`)).toBe(1);
  });

  it('ends a trim waiting for its record once aborted, instead of waiting out the timeout', async () => {
    const chain = 'waiting-chain';
    const opened = await ChainWriter.open(db, chain, { now: () => NOW });
    await opened.append(
      Array.from({ length: 5 }, (_, i) => ({
        record: { ...sampleRecord(1), at: new Date(OLD + i).toISOString() },
      })),
    );
    // A recorder whose records are never chained: the trim would wait its full 30 s.
    const { log } = recorder();
    const stuck = new RetentionJob({
      db,
      recorder: log,
      holds: new LegalHolds(db),
      logger: createLogger('silent', 'retention-holds-test'),
      policy: AUDIT_ONLY,
      recordWaitMs: 30_000,
    });
    const abort = new AbortController();
    const started = Date.now();
    const run = stuck.run(NOW, abort.signal);
    setTimeout(() => abort.abort(), 1_000);
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await readAnchors(db)).get(chain)).toBeUndefined();
  });
});

// On the same engine (one per process): what the retention run above relies on to end promptly.
describe('a verification aborted', () => {
  it('reads no further page of the chain (review26 #4: a 1M-record verification outlasted shutdown)', async () => {
    const writer = await ChainWriter.open(db, 'long-chain', { now: () => NOW });
    await writer.append(Array.from({ length: 50 }, (_, i) => ({ record: sampleRecord(i) })));
    const abort = new AbortController();
    let pages = 0;
    // The first page read aborts: as a shutdown arriving while it is read.
    const reading = {
      ...db,
      client: {
        query: (params: Parameters<Database['client']['query']>[0]) => {
          if (params.query.includes('source_offset FROM audit_events')) {
            pages += 1;
            abort.abort();
          }
          return db.client.query(params);
        },
      },
    } as unknown as Database;
    const verifying = verifyStore(reading, {
      chains: ['long-chain'],
      pagePositions: 10,
      signal: abort.signal,
    });
    await expect(verifying).rejects.toMatchObject({ name: 'AbortError' });
    expect(pages).toBe(1);
  });
});
