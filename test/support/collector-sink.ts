import type { Registry } from 'prom-client';
import { createCollectorSink, createIngestMetrics } from '../../src/collectors/index.js';
import type { CollectorSinkDeps } from '../../src/collectors/collector-sink.js';

/**
 * A collector sink for unit tests of its own logic: writes that always succeed, the default
 * limits, topics p, l, a and dlq, metrics in `registry`. `overrides` replaces any dependency.
 */
export function testCollectorSink(registry: Registry, overrides: Partial<CollectorSinkDeps> = {}) {
  return createCollectorSink({
    db: { insertJsonEachRow: () => Promise.resolve() } as never,
    letters: undefined as never,
    models: { registerSeen: () => Promise.resolve() } as never,
    metrics: createIngestMetrics(registry),
    topics: { predictions: 'p', labels: 'l', accessLog: 'a', deadLetter: 'dlq' },
    maxMessageBytes: 1_048_576,
    maxFutureSkewMs: 86_400_000,
    maxFeatures: 1_000,
    maxFeatureNameLength: 256,
    ...overrides,
  });
}
