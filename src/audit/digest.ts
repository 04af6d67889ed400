/** Digests: the chain heads an auditor keeps outside modelwatch, and how a held file is read. */
import { z } from 'zod';
import type { Database } from '../platform/clickhouse/index.js';
import { isHex64 } from './chain.js';
import { AuditError } from './errors.js';
import { readHeads } from './store.js';
import type { DigestEntry } from './verify.js';

/** Most entries accepted in one held digest. @default 100_000 */
export const MAX_DIGEST_ENTRIES = 100_000;

const entrySchema = z.strictObject({
  chain: z.string().min(1).max(256),
  position: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  hash: z.string().refine(isHex64, 'must be 64 lowercase hex characters'),
  at: z.iso.datetime({ offset: true }),
});

/** The current heads, as a digest taken now. */
export async function takeDigest(db: Database, now: () => Date = () => new Date()): Promise<DigestEntry[]> {
  const at = now().toISOString();
  return (await readHeads(db))
    .filter((h) => h.position > 0)
    .map((h) => ({ chain: h.chain, position: h.position, hash: h.hash, at }));
}

/**
 * Reads a held digest: a JSON array of entries, `{ "heads": [...] }`, or one entry per line (the
 * `ml.audit-digests` messages as saved). Throws INVALID_QUERY naming the bad entry and field.
 */
export function parseDigest(text: string): DigestEntry[] {
  const trimmed = text.trim();
  let items: unknown[];
  try {
    if (trimmed.startsWith('[')) items = JSON.parse(trimmed) as unknown[];
    else if (trimmed.startsWith('{') && !trimmed.includes('\n')) items = headsOf(JSON.parse(trimmed));
    else
      items = trimmed
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as unknown);
  } catch (err) {
    throw new AuditError(
      'INVALID_QUERY',
      `digest is not JSON or JSON lines: ${err instanceof Error ? err.message : String(err)}`,
      false,
      'digest',
    );
  }
  if (!Array.isArray(items))
    throw new AuditError('INVALID_QUERY', 'digest must be a list of chain heads', false, 'digest');
  if (items.length > MAX_DIGEST_ENTRIES)
    throw new AuditError(
      'INVALID_QUERY',
      `digest has more than ${MAX_DIGEST_ENTRIES} entries`,
      false,
      'digest',
    );
  return items.map((item, i) => {
    const result = entrySchema.safeParse(item);
    if (result.success) return result.data;
    const issue = result.error.issues[0];
    const field = `digest[${i}]${issue && issue.path.length > 0 ? `.${issue.path.map(String).join('.')}` : ''}`;
    throw new AuditError('INVALID_QUERY', `${field} ${issue?.message ?? 'is invalid'}`, false, field);
  });
}

function headsOf(value: unknown): unknown[] {
  if (typeof value === 'object' && value !== null && 'heads' in value && Array.isArray(value.heads))
    return value.heads as unknown[];
  return [value];
}
