import {
  linkRecords,
  parseAuditRecord,
  type AuditRecord,
  type ChainHead,
  type StoredRow,
} from '../../../src/audit/index.js';

/** A valid record number `i` (times one second apart), varied across the three kinds. */
export function sampleRecord(i: number): AuditRecord {
  const at = Date.UTC(2026, 0, 1) + i * 1000;
  switch (i % 3) {
    case 0:
      return parseAuditRecord({
        kind: 'access',
        at,
        principal: `svc-${i % 7}`,
        action: 'read',
        resource_type: 'prediction',
        resource_id: `p-${i}`,
        entity_id: `customer-${i % 11}`,
        model_id: 'credit-risk',
        outcome: i % 5 === 0 ? 'denied' : 'allowed',
        details: { event_id: `e-${i}` },
      });
    case 1:
      return parseAuditRecord({
        kind: 'api',
        at,
        principal: 'auditor-1',
        action: 'GET /api/v1/audit/events',
        resource_type: 'route',
        resource_id: '/api/v1/audit/events',
        outcome: 'allowed',
        details: {
          method: 'GET',
          route: '/api/v1/audit/events',
          status: 200,
          params: { principal: `svc-${i % 7}` },
        },
      });
    default:
      return parseAuditRecord({
        kind: 'change',
        at,
        principal: 'admin',
        action: 'policy.change',
        resource_type: 'model',
        resource_id: 'credit-risk',
        model_id: 'credit-risk',
        outcome: 'allowed',
        details: { threshold: 0.1 + i / 1000, note: 'café ☕' },
      });
  }
}

/** Stored rows of a chain of `n` sample records, as ClickHouse would return them. */
export function chainRows(
  n: number,
  chain = 'c0',
  head: ChainHead = { chain, position: 0, hash: '0'.repeat(64) },
): StoredRow[] {
  const records = Array.from({ length: n }, (_, i) => sampleRecord(head.position + i));
  return linkRecords(head, records).links.map((link) =>
    toStored(link.chain, link.position, link.prev_hash, link.hash, link.record, link.parsed),
  );
}

export function toStored(
  chain: string,
  position: number,
  prevHash: string,
  hash: string,
  record: string,
  parsed: AuditRecord,
): StoredRow {
  return {
    chain,
    position,
    prev_hash: prevHash,
    hash,
    record,
    kind: parsed.kind,
    at_ms: Date.parse(parsed.at),
    principal: parsed.principal,
    action: parsed.action,
    resource_type: parsed.resource_type,
    resource_id: parsed.resource_id,
    model_id: parsed.model_id ?? '',
    entity_id: parsed.entity_id ?? '',
    outcome: parsed.outcome,
  };
}
