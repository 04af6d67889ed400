import { onTestFinished } from 'vitest';
import type { CapabilityDefinition } from '../../src/platform/capability/index.js';
import type { Config } from '../../src/platform/config/index.js';
import { createLogger } from '../../src/platform/observability/index.js';
import { startService, type RunningService } from '../../src/service/index.js';
import { isolatedConfig } from './harness.js';

export interface TestService extends RunningService {
  config: Config;
  /** Rows of a query on the service's own database. */
  rows<T>(query: string, params?: Record<string, unknown>): Promise<T[]>;
  /** An authenticated API request with the admin key. */
  get(url: string): Promise<{ status: number; body: unknown }>;
}

/** The whole service in this process (embedded ClickHouse, the run's broker), closed after the test. */
export async function startTestService(
  env: Record<string, string> = {},
  options: { capabilities?: readonly CapabilityDefinition[] } = {},
): Promise<TestService> {
  const config = isolatedConfig(env);
  const logger = createLogger(config.logLevel, 'test-service');
  const service = await startService({
    config,
    logger,
    brokers: config.kafka.brokers ?? [],
    port: 0,
    ...options,
  });
  onTestFinished(() => service.close());
  await Promise.race([
    service.ready,
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error('the service did not become ready in 40 s')), 40_000).unref(),
    ),
  ]);
  return {
    ...service,
    config,
    async rows<T>(query: string, params: Record<string, unknown> = {}) {
      const result = await service.platform.db.client.query({
        query,
        query_params: params,
        format: 'JSONEachRow',
      });
      return result.json<T>();
    },
    async get(url: string) {
      const response = await service.app.inject({
        method: 'GET',
        url,
        headers: { authorization: `Bearer ${config.api.adminKey ?? ''}` },
      });
      return { status: response.statusCode, body: response.json<unknown>() };
    },
  };
}
