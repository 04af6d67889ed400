/**
 * The chain math (SPEC 8): `hash = SHA-256(prev_hash ‖ JCS(record))`, where `‖` is byte
 * concatenation of the 64 lowercase hex characters of `prev_hash` (as ASCII) and the UTF-8 bytes
 * of the record's RFC 8785 canonical JSON. The first record's `prev_hash` is 64 zeros. Hex
 * text rather than raw bytes so the SQL check is `lower(hex(SHA256(concat(prev_hash, record))))`.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { AuditError } from './errors.js';
import type { AuditRecord } from './record.js';

export const GENESIS_HASH = '0'.repeat(64);

const HEX64 = /^[0-9a-f]{64}$/;

/** The RFC 8785 (JCS) text of a value; throws INVALID_RECORD on what JCS cannot represent. */
export function canonicalJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = canonicalize(value);
  } catch (err) {
    throw new AuditError(
      'INVALID_RECORD',
      `audit record cannot be canonicalized: ${err instanceof Error ? err.message : String(err)}`,
      false,
      'record',
      {
        cause: err,
      },
    );
  }
  if (text === undefined)
    throw new AuditError('INVALID_RECORD', 'audit record has no JSON representation', false, 'record');
  return text;
}

/** `SHA-256(prev_hash ‖ canonical)` as 64 lowercase hex characters. */
export function chainHash(prevHash: string, canonical: string): string {
  if (!HEX64.test(prevHash))
    throw new AuditError(
      'INVALID_RECORD',
      'prev_hash must be 64 lowercase hex characters',
      false,
      'prev_hash',
    );
  return createHash('sha256').update(prevHash, 'latin1').update(canonical, 'utf8').digest('hex');
}

export function isHex64(value: string): boolean {
  return HEX64.test(value);
}

/** The last stored link of a chain; position 0 with the genesis hash for an empty chain. */
export interface ChainHead {
  chain: string;
  position: number;
  hash: string;
}

/** One stored row: the link fields plus the canonical record text. */
export interface ChainLink {
  chain: string;
  position: number;
  prev_hash: string;
  hash: string;
  record: string;
}

export function emptyHead(chain: string): ChainHead {
  return { chain, position: 0, hash: GENESIS_HASH };
}

/** Links parsed records onto `head`, returning the rows and the new head (pure). */
export function linkRecords(
  head: ChainHead,
  records: readonly AuditRecord[],
): { links: (ChainLink & { parsed: AuditRecord })[]; head: ChainHead } {
  let prev = head.hash;
  let position = head.position;
  const links = records.map((parsed) => {
    const record = canonicalJson(parsed);
    const hash = chainHash(prev, record);
    position += 1;
    const link = { chain: head.chain, position, prev_hash: prev, hash, record, parsed };
    prev = hash;
    return link;
  });
  return { links, head: { chain: head.chain, position, hash: prev } };
}
