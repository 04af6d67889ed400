import type { FastifyInstance, FastifyPluginAsync, InjectOptions, LightMyRequestResponse } from 'fastify';
import { Registry } from 'prom-client';
import { buildApp } from '../../../src/api/index.js';
import type { RateLimits } from '../../../src/api/index.js';
import type { AuditRecord } from '../../../src/audit/index.js';
import { KeyStore, type KeyInfo, type Principal } from '../../../src/auth/index.js';
import type { Database } from '../../../src/platform/clickhouse/index.js';
import { createLogger } from '../../../src/platform/observability/index.js';
import { recordingLog } from '../../support/recording-audit-log.js';

/** One key per role; any other key is unknown. */
export const KEYS = { viewer: 'mw_unit-viewer', auditor: 'mw_unit-auditor', admin: 'mw_unit-admin' } as const;

/** Limits far from the tests' calls; a test lowers the one it is about. */
export const UNIT_LIMITS: RateLimits = {
  windowMs: 60_000,
  authFailuresPerAddress: 20,
  expensivePerKey: 100,
  expensivePerAddress: 100,
};

/** Keys without a database: the three of `KEYS`, no key to revoke. */
class StubKeys extends KeyStore {
  constructor() {
    super({} as Database, KEYS.admin);
  }

  override authenticate(key: string): Promise<Principal | undefined> {
    const role = (Object.keys(KEYS) as (keyof typeof KEYS)[]).find((r) => KEYS[r] === key);
    return Promise.resolve(role === undefined ? undefined : { name: `unit-${role}`, role });
  }

  override revoke(): Promise<KeyInfo | undefined> {
    return Promise.resolve(undefined);
  }
}

export interface StubApp {
  app: FastifyInstance;
  /** What the auditor was sent. */
  audited: AuditRecord[];
  /** `inject` with `key` as the bearer key (none when undefined). */
  call: (options: InjectOptions & { key?: string | undefined }) => Promise<LightMyRequestResponse>;
}

/** The whole app (auth, limits, audit, docs, key routes) over `routes`, with stub keys unless given. */
export async function stubApp(
  routes: FastifyPluginAsync[],
  rateLimits?: RateLimits,
  keys: KeyStore = new StubKeys(),
): Promise<StubApp> {
  const { log, sent } = await recordingLog();
  const app = await buildApp({
    logger: createLogger('silent'),
    keys,
    registry: new Registry(),
    readiness: { checks: () => Promise.resolve({ ok: true }) },
    metricsPublic: false,
    rateLimits,
    auditor: log,
    routes,
  });
  const call = ({ key, headers, ...options }: InjectOptions & { key?: string | undefined }) =>
    app.inject({
      ...options,
      headers: { ...headers, ...(key === undefined ? {} : { authorization: `Bearer ${key}` }) },
    });
  return { app, audited: sent, call };
}

/** The `message` of an error answer. */
export function message(response: { json: () => unknown }): string | undefined {
  return (response.json() as { message?: string }).message;
}
