import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { collectDefaultMetrics, Registry } from 'prom-client';

const SRC = path.resolve(import.meta.dirname, '../../src');

/** Every `.ts` file under src/. */
function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(path.join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [path.join(dir, e.name)]
        : [],
  );
}

/**
 * Metric names the service exposes: every prom-client metric constructed in src/ (read from the
 * code, so a renamed metric cannot hide behind a list kept here) and prom-client's default
 * metrics (registered as src/service/service.ts does). Histograms also expose _bucket, _sum and
 * _count. test/integration/prometheus.test.ts proves the same against a real scrape.
 */
export async function exposedMetrics(): Promise<Set<string>> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'modelwatch_' });
  const names = new Set<string>();
  for (const file of sourceFiles())
    for (const m of readFileSync(file, 'utf8').matchAll(
      /new (Counter|Gauge|Histogram|Summary)\(\{\s*name: '(modelwatch_[a-z0-9_]+)'/g,
    )) {
      names.add(m[2]!);
      if (m[1] === 'Histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m[2]! + s);
    }
  for (const m of await registry.getMetricsAsJSON()) {
    names.add(m.name);
    if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
  }
  return names;
}
