import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { CLI_PRINCIPAL } from '../platform/cli/index.js';
import type { Database, Migration } from '../platform/clickhouse/index.js';
import { ModelwatchError } from '../platform/errors.js';

export const ROLES = ['viewer', 'auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

const rank: Record<Role, number> = { viewer: 0, auditor: 1, admin: 2 };

/** auditor includes viewer, admin includes both (SPEC 9). */
export function roleAllows(held: Role, needed: Role): boolean {
  return rank[held] >= rank[needed];
}

export interface Principal {
  name: string;
  role: Role;
}

export const authMigrations: Migration[] = [
  {
    version: 2,
    name: 'api_keys (stored as SHA-256 hashes)',
    statements: ({ onCluster, engine }) => [
      `CREATE TABLE IF NOT EXISTS api_keys${onCluster} (
        key_hash FixedString(64),
        name String,
        role LowCardinality(String),
        created_at DateTime64(3, 'UTC') DEFAULT now64(3),
        revoked Bool DEFAULT false
      ) ENGINE = ${engine('ReplacingMergeTree', 'created_at')}
      ORDER BY key_hash`,
    ],
  },
  {
    version: 6,
    name: 'api_keys.issued_at: a revoked key keeps its creation time',
    // The revocation row's created_at is the table's version, so it must be the later time; the
    // key's own creation time rides along here. Null on rows written before (a key still active
    // then was created at its created_at; one revoked before lost that time).
    statements: ({ onCluster }) => [
      `ALTER TABLE api_keys${onCluster} ADD COLUMN IF NOT EXISTS issued_at Nullable(DateTime64(3, 'UTC'))`,
    ],
  },
];

export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function generateKey(): string {
  return `mw_${randomBytes(32).toString('base64url')}`;
}

/**
 * How long an authentication result is reused. A key revoked through another instance (or the
 * CLI on the database) stops working within this bound; one revoked through this instance at once.
 */
export const KEY_CACHE_MS = 10_000;

/** Cached results (valid and unknown keys alike); the oldest is dropped beyond this. @default 10000 */
export const KEY_CACHE_MAX = 10_000;

/** Longest key name (the REST route's limit too). @default 128 */
export const MAX_KEY_NAME = 128;

/**
 * Principals the service itself writes into audit records: a key so named would make its calls
 * look like the bootstrap admin's, an unauthenticated caller's or the service's own.
 */
const RESERVED_NAMES: readonly string[] = [
  'bootstrap-admin',
  'anonymous',
  'retention',
  'modelwatch',
  CLI_PRINCIPAL,
];
const RESERVED_USE =
  'the bootstrap key, callers without a key, retention, the service itself and the keys command';

// In a `u` regex a paired surrogate is one code point, so \p{Cs} matches only lone ones.
const LONE_SURROGATE = /\p{Cs}/u;
// A newline or escape in a principal would forge lines in `keys list`, logs and CSV exports.
const CONTROL_CHARACTER = /\p{Cc}/u;

/**
 * Why `name` cannot name a key, or undefined. The name is the principal of every audit record of
 * the key's calls, which refuses an empty, overlong or unencodable one: such a key's calls would
 * not be audited as its own.
 */
export function keyNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (RESERVED_NAMES.includes(name)) return `'${name}' is reserved: audit records use it for ${RESERVED_USE}`;
  if (name.length > MAX_KEY_NAME) return `must be at most ${MAX_KEY_NAME} characters (got ${name.length})`;
  if (CONTROL_CHARACTER.test(name)) return 'holds a control character';
  return LONE_SURROGATE.test(name) ? 'holds a lone surrogate' : undefined;
}

/** Characters of the key hash shown as a key's id: enough to name it, never the key. */
const ID_LENGTH = 16;

export interface KeyInfo {
  /** The first 16 hex characters of the key's SHA-256 (the key itself is never stored). */
  id: string;
  name: string;
  role: Role;
  /** When the key was created (for a key revoked before migration 6: when it was revoked). */
  created_at: string;
  revoked: boolean;
  /** When it was revoked; null while active. */
  revoked_at: string | null;
}

const iso = (ms: number | string) => new Date(Number(ms)).toISOString();

/** API keys: the bootstrap admin key from the environment, and keys created with `keys create`. */
export class KeyStore {
  /** Entries cached now (for tests: the cache is bounded). */
  get cacheSize(): number {
    return this.cache.size;
  }

  private readonly cache = new Map<string, { principal: Principal | undefined; until: number }>();
  private readonly adminHash: Buffer | undefined;
  /**
   * Bumped by every revocation on this instance. An authentication that read the key before a
   * revocation's row was stored may answer after it; its result is then not cached, or the
   * revoked key would keep working here for KEY_CACHE_MS. One counter rather than one per key:
   * revocations are rare, and it costs such a read only its cache entry.
   */
  private revocations = 0;

  constructor(
    private readonly db: Database,
    adminKey: string | undefined,
    /** Most cached authentication results. @default KEY_CACHE_MAX */
    private readonly cacheMax = KEY_CACHE_MAX,
  ) {
    this.adminHash = adminKey === undefined ? undefined : Buffer.from(hashKey(adminKey), 'hex');
  }

  async create(role: Role, name: string): Promise<string> {
    return (await this.createWithId(role, name)).key;
  }

  /** Creates a key; the key is returned once and stored only as its SHA-256. */
  async createWithId(role: Role, name: string): Promise<{ key: string; id: string }> {
    const problem = keyNameProblem(name);
    if (problem) throw new ModelwatchError('BAD_REQUEST', `key name ${problem}`);
    // Names are the audit trail's principals: two active keys of one name would be one principal.
    // (Two creates racing can still both pass; revoking one of them settles it.)
    if (await this.activeNamed(name))
      throw new ModelwatchError(
        'CONFLICT',
        `key name '${name}' belongs to an active key: revoke it or pick another`,
      );
    const key = generateKey();
    const hash = hashKey(key);
    await this.db.client.insert({
      table: 'api_keys',
      format: 'JSONEachRow',
      values: [{ key_hash: hash, name, role }],
    });
    return { key, id: hash.slice(0, ID_LENGTH) };
  }

  private async activeNamed(name: string): Promise<boolean> {
    const result = await this.db.client.query({
      query: 'SELECT count() AS n FROM api_keys FINAL WHERE name = {name:String} AND NOT revoked',
      query_params: { name },
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ n: number | string }>();
    return Number(row?.n ?? 0) > 0;
  }

  async list(): Promise<KeyInfo[]> {
    const result = await this.db.client.query({
      query: `SELECT substring(key_hash, 1, ${ID_LENGTH}) AS id, name, role, revoked,
                     toUnixTimestamp64Milli(ifNull(issued_at, created_at)) AS issued_ms,
                     toUnixTimestamp64Milli(created_at) AS version_ms
              FROM api_keys FINAL ORDER BY issued_ms, id`,
      format: 'JSONEachRow',
    });
    type Row = Pick<KeyInfo, 'id' | 'name' | 'role'> & {
      revoked: boolean | number;
      issued_ms: number | string;
      version_ms: number | string;
    };
    return (await result.json<Row>()).map(({ issued_ms, version_ms, ...k }) => {
      const revoked = Boolean(k.revoked);
      return { ...k, created_at: iso(issued_ms), revoked, revoked_at: revoked ? iso(version_ms) : null };
    });
  }

  /**
   * Revokes the key whose id is `id` (a later row with revoked = true replaces it); false when no
   * such key. The bootstrap admin key lives in the environment and cannot be revoked here.
   */
  async revoke(id: string): Promise<KeyInfo | undefined> {
    if (!/^[0-9a-f]{16}$/.test(id)) return undefined;
    const result = await this.db.client.query({
      query: `SELECT key_hash, name, role, toUnixTimestamp64Milli(ifNull(issued_at, created_at)) AS issued_ms,
                     toUnixTimestamp64Milli(created_at) AS version_ms
              FROM api_keys FINAL WHERE startsWith(key_hash, {id:String}) AND NOT revoked`,
      query_params: { id },
      format: 'JSONEachRow',
    });
    type Row = {
      key_hash: string;
      name: string;
      role: Role;
      issued_ms: number | string;
      version_ms: number | string;
    };
    const [row] = await result.json<Row>();
    if (!row) return undefined;
    // Later than the row it replaces, which FINAL must not keep (a clock set back would).
    const revokedMs = Math.max(Date.now(), Number(row.version_ms) + 1);
    await this.db.client.insert({
      table: 'api_keys',
      format: 'JSONEachRow',
      values: [
        {
          key_hash: row.key_hash,
          name: row.name,
          role: row.role,
          revoked: true,
          created_at: revokedMs,
          issued_at: Number(row.issued_ms),
        },
      ],
    });
    // Together, once the row is stored: a read begun before it is then either cleared here or not cached.
    this.revocations += 1;
    this.cache.delete(row.key_hash);
    const created = iso(row.issued_ms);
    return {
      id,
      name: row.name,
      role: row.role,
      created_at: created,
      revoked: true,
      revoked_at: iso(revokedMs),
    };
  }

  async authenticate(key: string): Promise<Principal | undefined> {
    const hash = hashKey(key);
    if (this.adminHash && timingSafeEqual(this.adminHash, Buffer.from(hash, 'hex')))
      return { name: 'bootstrap-admin', role: 'admin' };
    const cached = this.cache.get(hash);
    if (cached && cached.until > Date.now()) return cached.principal;
    const revocations = this.revocations;
    const result = await this.db.client.query({
      query: 'SELECT name, role FROM api_keys FINAL WHERE key_hash = {hash:FixedString(64)} AND NOT revoked',
      query_params: { hash },
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ name: string; role: Role }>();
    const principal =
      row && (ROLES as readonly string[]).includes(row.role) ? { name: row.name, role: row.role } : undefined;
    if (revocations === this.revocations) this.remember(hash, principal);
    return principal;
  }

  private remember(hash: string, principal: Principal | undefined): void {
    // Bounded: every distinct wrong key would otherwise add an entry forever.
    this.cache.delete(hash);
    if (this.cache.size >= this.cacheMax) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(hash, { principal, until: Date.now() + KEY_CACHE_MS });
  }
}
