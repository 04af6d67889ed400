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
          events.push('notes start');
        },
        stop() {
          running = false;
          events.push('notes stop');
          return Promise.resolve();
        },
        ready: () => ({ notes: running }),
      };
    },
  };
}

/**
 * A capability that records its start and, at its stop, whether the API still listened and the
 * database still answered: the API is closed before any capability stops, ClickHouse after.
 */
function recordingCapability(name: string, events: string[], listening: () => boolean): CapabilityDefinition {
  return {
    name,
    create: ({ db }) => ({
      start() {
        events.push(`${name} start`);
        return Promise.resolve();
      },
      async stop() {
        const api = listening() ? 'listening' : 'closed';
        const clickhouse = await db.client
          .query({ query: 'SELECT 1 AS one', format: 'JSONEachRow' })
          .then((r) => r.json<{ one: number }>())
          .then(
            (rows) =>
              rows.length === 1 && Number(rows[0]!.one) === 1 ? 'open' : `answered ${JSON.stringify(rows)}`,
            (err: unknown) => `failed: ${String(err)}`,
          );
        events.push(`${name} stop (API ${api}, ClickHouse ${clickhouse})`);
      },
    }),
  };
}

describe('the capability contract', () => {
  it('runs a new capability from its definition alone: migration, route in OpenAPI, loop, readiness, metric, ordered stop', async () => {
    const events: string[] = [];
    const listening = () => service.app.server.listening;
    const service = await startTestService(
      {},
      {
        capabilities: [
          ...capabilities,
          recordingCapability('first', events, listening),
          trivialCapability(events),
          recordingCapability('last', events, listening),
        ],
      },
    );
    expect(events).toEqual(['first start', 'notes start', 'last start']);
    expect(listening()).toBe(true);

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
    // In reverse order of their starts, after the API closed and before ClickHouse closed.
    expect(events).toEqual([
      'first start',
      'notes start',
      'last start',
      'last stop (API closed, ClickHouse open)',
      'notes stop',
      'first stop (API closed, ClickHouse open)',
    ]);
    await expect(service.platform.db.client.query({ query: 'SELECT 1' })).rejects.toThrow(/closing|closed/);
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
