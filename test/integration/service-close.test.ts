import { describe, expect, it, onTestFinished } from 'vitest';
import { collectors } from '../../src/collectors/index.js';
import type { CapabilityDefinition } from '../../src/platform/capability/index.js';
import { createLogger } from '../../src/platform/observability/index.js';
import {
  API_CLOSE_GRACE_MS,
  capabilities,
  startService,
  type RunningService,
} from '../../src/service/index.js';
import { isolatedConfig, testKafka } from '../support/harness.js';

/** A promise and the function that settles it, for a step the test holds until it lets it go. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open = () => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** `promise`, or a rejection naming `what` after `ms` (a shutdown that hangs fails, not times out). */
function within<T>(what: string, promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

async function groupMembers(groupId: string): Promise<number> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    return groups[0]?.members.length ?? 0;
  } finally {
    await admin.disconnect();
  }
}

/** Records its stop, after the service's own capabilities (so it is stopped before them). */
function recorder(
  events: string[],
  stop: () => Promise<void> = () => Promise.resolve(),
): CapabilityDefinition {
  return {
    name: 'recorder',
    create: () => ({
      async stop() {
        events.push('recorder stopped');
        await stop();
      },
    }),
  };
}

/**
 * The whole service with `extra` capabilities, ready. Not startTestService: its close after the
 * test would fail the test where close is meant to throw.
 */
async function startReady(extra: CapabilityDefinition[]): Promise<RunningService> {
  const config = isolatedConfig();
  const service = await startService({
    config,
    logger: createLogger(config.logLevel, 'test-service'),
    brokers: config.kafka.brokers ?? [],
    port: 0,
    capabilities: [...capabilities, ...extra],
  });
  onTestFinished(() => service.close().catch(() => undefined));
  await within('start-up', service.ready, 60_000);
  return service;
}

async function closedDatabase(service: RunningService): Promise<string> {
  return service.platform.db.client.query({ query: 'SELECT 1' }).then(
    () => 'open',
    (err: unknown) => String(err),
  );
}

describe('closing the service', () => {
  it('stops a capability whose start ends after close: its consumer leaves the group instead of running on', async () => {
    const config = isolatedConfig();
    const held = gate();
    const reached = gate();
    const events: string[] = [];
    let stopIngest = () => Promise.resolve();
    // The ingest consumer's start (a Kafka connect and group join) is held until after close.
    const heldCollectors: CapabilityDefinition = {
      ...collectors,
      create(platform, use) {
        const inner = collectors.create(platform, use);
        stopIngest = () => inner.stop?.() ?? Promise.resolve();
        return {
          ...inner,
          async start(signal) {
            reached.open();
            await held.opened;
            await inner.start?.(signal);
            events.push('started');
          },
          async stop() {
            events.push('stopped');
            await inner.stop?.();
          },
        };
      },
    };
    const service = await startService({
      config,
      logger: createLogger(config.logLevel, 'test-service'),
      brokers: config.kafka.brokers ?? [],
      port: 0,
      capabilities: capabilities.map((d) => (d === collectors ? heldCollectors : d)),
    });
    onTestFinished(async () => {
      held.open();
      // Only where the service left it running (the defect this test is about).
      if (events.at(-1) === 'started') await stopIngest();
    });
    await within('the ingest start', reached.opened, 60_000);

    // Not waiting for the start in progress.
    await within('close', service.close(), 15_000);
    held.open();
    await within(
      'the start to end',
      service.ready.catch(() => undefined),
      30_000,
    );

    expect(events).toEqual(['started', 'stopped']);
    expect(await groupMembers(config.ingest.consumerGroup)).toBe(0);
  }, 120_000);

  it(`closes connections of requests still in progress after ${API_CLOSE_GRACE_MS / 1000} s, then stops every capability`, async () => {
    const events: string[] = [];
    const released = gate();
    const entered = gate();
    const slowRoute: CapabilityDefinition = {
      name: 'slow-route',
      create: () => ({
        routes: (api) => {
          // As an audit export of millions of records: no answer until the test lets it go.
          api.get('/slow', { config: { role: 'viewer' }, schema: { summary: 'Slow' } }, async () => {
            entered.open();
            await released.opened;
            return {};
          });
          return Promise.resolve();
        },
      }),
    };
    const service = await startReady([slowRoute, recorder(events)]);
    onTestFinished(released.open);
    const request = fetch(`${service.url}/api/v1/slow`, {
      headers: { authorization: `Bearer ${service.platform.config.api.adminKey ?? ''}` },
    }).then(
      (response) => `answered ${response.status}`,
      (err: unknown) => `failed: ${String(err)}`,
    );
    await within('the request to arrive', entered.opened, 10_000);

    const closing = Date.now();
    await within('close', service.close(), API_CLOSE_GRACE_MS + 10_000);
    const tookMs = Date.now() - closing;

    expect(tookMs).toBeGreaterThanOrEqual(API_CLOSE_GRACE_MS - 50);
    expect(await request).toMatch(/^failed/);
    expect(events).toEqual(['recorder stopped']);
    expect(await groupMembers(service.platform.config.ingest.consumerGroup)).toBe(0);
    expect(await closedDatabase(service)).toMatch(/closing|closed/);
  }, 120_000);

  it("goes on past a capability's stop that throws, and throws its error once everything is closed", async () => {
    const events: string[] = [];
    const failing: CapabilityDefinition = {
      name: 'failing-stop',
      create: () => ({
        stop: () => {
          events.push('failing stopped');
          return Promise.reject(new Error('the stop failed'));
        },
      }),
    };
    // Stopped in reverse order: the failing one first, then the recorder (with ClickHouse still
    // open), then the service's own.
    const service = await startReady([
      recorder(events, async () => {
        events.push(`ClickHouse ${await closedDatabase(service)}`);
      }),
      failing,
    ]);

    await expect(within('close', service.close(), 30_000)).rejects.toThrow('the stop failed');

    expect(events).toEqual(['failing stopped', 'recorder stopped', 'ClickHouse open']);
    expect(await groupMembers(service.platform.config.ingest.consumerGroup)).toBe(0);
    expect(await closedDatabase(service)).toMatch(/closing|closed/);
  }, 120_000);
});
