import { userInfo } from 'node:os';
import {
  assertStoredData,
  localServiceBase,
  parseOptions,
  queueAuditChange,
  serviceHolding,
  serviceRequest,
  UsageError,
  type Command,
} from '../platform/cli/index.js';
import { migrate, openDatabase, waitForDatabase } from '../platform/clickhouse/index.js';
import { loadConfig, type Config } from '../platform/config/index.js';
import { ModelwatchError } from '../platform/errors.js';
import { KeyStore, ROLES, keyNameProblem, type KeyInfo, type Role } from './keys.js';
import type { Migration } from '../platform/clickhouse/index.js';

const usage = `modelwatch keys create --role ${ROLES.join('|')} [--name NAME] | keys list | keys revoke ID`;

/** What the command does, through the running service's API or straight on the database. */
interface KeyOps {
  create(role: Role, name: string): Promise<{ key: string; id: string }>;
  list(): Promise<KeyInfo[]>;
  revoke(id: string): Promise<KeyInfo | undefined>;
}

/** The words each verb takes, itself included: one more is refused, not ignored. */
const WORDS = new Map([
  ['create', 1],
  ['list', 1],
  ['revoke', 2],
]);

/** A key's id as `keys list` shows it (the API refuses any other shape). */
const KEY_ID = /^[0-9a-f]{16}$/;

/**
 * `modelwatch keys`. While a service on the embedded engine runs it holds the engine (its lock,
 * `modelwatch.pid` in MODELWATCH_DATA_DIR, names it), so the command then goes through its API
 * (`MODELWATCH_ADMIN_KEY` on 127.0.0.1:`MODELWATCH_API_PORT`); otherwise it opens the database
 * (a ClickHouse server is open to both). The key is printed once, on stdout; only its hash is stored.
 */
export const keysCommand: Command = {
  async run(args, { migrations }) {
    const { values, positionals } = parseOptions(
      args,
      { role: { type: 'string' }, name: { type: 'string' } },
      usage,
      { allowPositionals: true },
    );
    const [verb, id, ...extra] = positionals;
    if (verb === 'create' && id === undefined) return create(values, migrations);
    if (verb === 'list' && id === undefined) return list(migrations);
    if (verb === 'revoke' && id !== undefined && extra.length === 0) return revoke(id, migrations);
    const unexpected = positionals[WORDS.get(verb ?? '') ?? positionals.length];
    throw new UsageError(
      unexpected === undefined ? `usage: ${usage}` : `unexpected argument '${unexpected}'; usage: ${usage}`,
    );
  },
};

async function create(
  values: { role?: string | undefined; name?: string | undefined },
  migrations: readonly Migration[],
): Promise<number> {
  const role = values.role;
  if (!role || !(ROLES as readonly string[]).includes(role))
    throw new UsageError(`--role must be one of ${ROLES.join(', ')}; usage: ${usage}`);
  const name = values.name ?? `${role}-${new Date().toISOString()}`;
  const problem = keyNameProblem(name);
  if (problem) throw new UsageError(`--name ${problem}; usage: ${usage}`);
  // A new store is fine here: keys may be created before the service first starts.
  const created = await withOps(loadConfig(), migrations, 'create', (ops) => ops.create(role as Role, name));
  process.stdout.write(`${created.key}\n`);
  process.stderr.write(
    `created a ${role} key (id ${created.id}); it is shown once and stored only as a hash\n`,
  );
  return 0;
}

async function list(migrations: readonly Migration[]): Promise<number> {
  for (const k of await withOps(loadConfig(), migrations, 'read', (ops) => ops.list()))
    process.stdout.write(`${JSON.stringify(k)}\n`);
  return 0;
}

async function revoke(id: string, migrations: readonly Migration[]): Promise<number> {
  // Checked here, so that the API and the database give the same answer.
  if (!KEY_ID.test(id))
    throw new UsageError(`'${id}' is not a key id (16 hex characters, see keys list); usage: ${usage}`);
  const revoked = await withOps(loadConfig(), migrations, 'read', (ops) => ops.revoke(id));
  if (!revoked) throw new ModelwatchError('NOT_FOUND', `no active key with id '${id}' (see keys list)`);
  process.stderr.write(`revoked key ${id} (${revoked.name}); a running service refuses it within 10 s\n`);
  return 0;
}

/** `read`: the store must exist already (list, revoke); `create` may start a new one. */
/** Who ran the command, for its audit records; undefined where the system has no such user. */
function osUser(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}

async function withOps<T>(
  config: Config,
  migrations: readonly Migration[],
  use: 'read' | 'create',
  step: (ops: KeyOps) => Promise<T>,
): Promise<T> {
  const base = localServiceBase(config.api.port);
  // Only a running modelwatch holding the embedded engine is asked; whatever else answers on the
  // port is not taken for it.
  const holder =
    config.clickhouse.url === undefined ? await serviceHolding(config.clickhouse.dataDir, base) : undefined;
  if (holder !== undefined) {
    if (!config.api.adminKey)
      throw new ModelwatchError(
        'CONFIG_INVALID',
        `the service is running at ${holder} and holds the database: set MODELWATCH_ADMIN_KEY to manage keys through its API`,
      );
    return step(apiOps(holder, config.api.adminKey));
  }
  if (use === 'read') assertStoredData(config.clickhouse);
  const db = await openDatabase(config.clickhouse);
  try {
    await waitForDatabase(db);
    await migrate(db, migrations);
    const store = new KeyStore(db, undefined);
    // No audit log runs here: the records wait in the database for the service to send them.
    const via = { via: 'modelwatch keys', os_user: osUser() };
    return await step({
      async create(role, name) {
        const created = await store.createWithId(role, name);
        await queueAuditChange(db, {
          at: Date.now(),
          action: 'key.create',
          resource_type: 'api_key',
          resource_id: created.id,
          details: { role, name, ...via },
        });
        return created;
      },
      list: () => store.list(),
      async revoke(id) {
        const revoked = await store.revoke(id);
        if (revoked)
          await queueAuditChange(db, {
            at: Date.now(),
            action: 'key.revoke',
            resource_type: 'api_key',
            resource_id: revoked.id,
            details: { role: revoked.role, name: revoked.name, ...via },
          });
        return revoked;
      },
    });
  } finally {
    await db.close();
  }
}

/** A JSON object whose `fields` are strings. */
function hasStrings(json: unknown, ...fields: string[]): boolean {
  return (
    typeof json === 'object' &&
    json !== null &&
    fields.every((f) => typeof (json as Record<string, unknown>)[f] === 'string')
  );
}

function apiOps(base: string, adminKey: string): KeyOps {
  const request = (
    method: string,
    path: string,
    valid: (json: unknown, status: number) => boolean,
    body?: unknown,
  ) => serviceRequest(base, adminKey, { method, path, body, accept: [404], valid });
  return {
    create: async (role, name) =>
      (await request('POST', '/keys', (json) => hasStrings(json, 'key', 'id'), { role, name })).json as {
        key: string;
        id: string;
      },
    list: async () => (await request('GET', '/keys', (json) => Array.isArray(json))).json as KeyInfo[],
    revoke: async (id) => {
      const answer = await request(
        'DELETE',
        `/keys/${encodeURIComponent(id)}`,
        (json, status) => status === 404 || hasStrings(json, 'id', 'name'),
      );
      return answer.status === 404 ? undefined : (answer.json as KeyInfo);
    },
  };
}
