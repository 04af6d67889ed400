import { createServer, type AddressInfo } from 'node:net';
import { Counter } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/platform/clickhouse/index.js';
import type { CapabilityDefinition } from '../../src/platform/capability/index.js';
import { createLogger } from '../../src/platform/observability/index.js';
import { capabilities, startService } from '../../src/service/index.js';
import { isolatedConfig } from '../support/harness.js';
import { startTestService } from '../support/service.js';

/** The smallest capability there is: one table, one route, one loop, one check, one metric. */
function trivialCapability(events: string[]): CapabilityDefinition {
  return {
    name: 'notes',
    migrations: [
      {
        version: 9_001,
        name: 'notes',
        statements: () => ['CREATE TABLE IF NOT EXISTS notes (text String) ENGINE = MergeTree ORDER BY text'],
      },
    ],
    create({ db, registry }) {
      const written = new Counter({
        name: 'modelwatch_notes_total',
        help: 'notes written',
        registers: [registry],
      });
      let running = false;
      return {
        routes: (api) => {
          api.get('/notes', { config: { role: 'viewer' }, schema: { summary: 'Notes' } }, async () => {
            const result = await db.client.query({
              query: 'SELECT count() AS n FROM notes',
              format: 'JSONEachRow',
            });
            return { rows: (await result.json<{ n: number }>())[0]?.n };
          });
          return Promise.resolve();
        },
        async start() {
          await db.client.command({ query: "INSERT INTO notes VALUES ('started')" });
          written.inc();
          running = true;
          events.push('start');
        },
        stop() {
          running = false;
          events.push('stop');
          return Promise.resolve();
        },
        ready: () => ({ notes: running }),
      };
    },
  };
}

describe('the capability contract', () => {
  it('runs a new capability from its definition alone: migration, route in OpenAPI, loop, readiness, metric, ordered stop', async () => {
    const events: string[] = [];
    const service = await startTestService(
      {},
      { capabilities: [...capabilities, trivialCapability(events)] },
    );

    expect(await service.get('/api/v1/notes')).toEqual({ status: 200, body: { rows: 1 } });
    const docs = await service.app.inject({ method: 'GET', url: '/docs/json' });
    expect(Object.keys(docs.json<{ paths: Record<string, unknown> }>().paths)).toContain('/api/v1/notes');
    const ready = await service.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.json()).toMatchObject({
      ready: true,
      checks: { notes: true, ingest: true, clickhouse: true, kafka: true },
    });
    const metrics = await service.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/^modelwatch_notes_total 1$/m);
    const [migrated] = await service.rows<{ version: number }>(
      'SELECT version FROM schema_migrations WHERE version = 9001',
    );
    expect(migrated?.version).toBe(9001);

    await service.close();
    expect(events).toEqual(['start', 'stop']);
  });

  it('closes its database when the API cannot listen, and throws the listen error', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    let db: Database | undefined;
    const spy: CapabilityDefinition = {
      name: 'spy',
      create: (platform) => {
        db = platform.db;
        return {};
      },
    };
    const config = isolatedConfig({ MODELWATCH_API_HOST: '127.0.0.1' });
    try {
      await expect(
        startService({
          config,
          logger: createLogger('silent', 'test-service'),
          brokers: config.kafka.brokers ?? [],
          port,
          capabilities: [...capabilities, spy],
        }),
      ).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      taken.close();
    }
    expect(db).toBeDefined();
    await expect(db?.client.query({ query: 'SELECT 1' })).rejects.toThrow(/closing|closed/);
  });
});
