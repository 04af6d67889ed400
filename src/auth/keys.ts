import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Database, Migration } from '../platform/clickhouse/index.js';

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
];

export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function generateKey(): string {
  return `mw_${randomBytes(32).toString('base64url')}`;
}

const CACHE_MS = 10_000;

/** API keys: the bootstrap admin key from the environment, and keys created with `keys create`. */
export class KeyStore {
  private readonly cache = new Map<string, { principal: Principal | undefined; until: number }>();
  private readonly adminHash: Buffer | undefined;

  constructor(
    private readonly db: Database,
    adminKey: string | undefined,
  ) {
    this.adminHash = adminKey === undefined ? undefined : Buffer.from(hashKey(adminKey), 'hex');
  }

  async create(role: Role, name: string): Promise<string> {
    const key = generateKey();
    await this.db.client.insert({
      table: 'api_keys',
      format: 'JSONEachRow',
      values: [{ key_hash: hashKey(key), name, role }],
    });
    return key;
  }

  async authenticate(key: string): Promise<Principal | undefined> {
    const hash = hashKey(key);
    if (this.adminHash && timingSafeEqual(this.adminHash, Buffer.from(hash, 'hex'))) return { name: 'bootstrap-admin', role: 'admin' };
    const cached = this.cache.get(hash);
    if (cached && cached.until > Date.now()) return cached.principal;
    const result = await this.db.client.query({
      query: 'SELECT name, role FROM api_keys FINAL WHERE key_hash = {hash:FixedString(64)} AND NOT revoked',
      query_params: { hash },
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ name: string; role: Role }>();
    const principal = row && (ROLES as readonly string[]).includes(row.role) ? { name: row.name, role: row.role } : undefined;
    this.cache.set(hash, { principal, until: Date.now() + CACHE_MS });
    return principal;
  }
}
