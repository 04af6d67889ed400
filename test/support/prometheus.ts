/**
 * The real `prometheus` binary (Debian's package; `.ci/run` installs it) scraping a running
 * modelwatch, and its HTTP API. Tests skip with a message naming the package when it is absent.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { onTestFinished } from 'vitest';
import { tempDir, waitFor } from './harness.js';

export function hasBinary(name: string): boolean {
  return spawnSync(name, ['--version'], { stdio: 'ignore' }).status === 0;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export interface PrometheusTarget {
  /** `host:port` of the modelwatch API. */
  address: string;
  /**
   * API key sent as a bearer token on every scrape, so the test passes whether `/metrics` is
   * public (MODELWATCH_METRICS_PUBLIC=true) or needs a viewer key.
   */
  key?: string;
  /** Rule files Prometheus loads and evaluates every second. */
  ruleFiles?: string[];
}

export interface RunningPrometheus {
  url: string;
  process: ChildProcess;
  /** Evaluates an instant or range query; throws on an API error. */
  query(expr: string, range?: { start: number; end: number; step: number }): Promise<PromSeries[]>;
  /** Label values of a series selector, as Grafana's `label_values(metric, label)` resolves them. */
  labelValues(label: string, match: string): Promise<string[]>;
}

export interface PromSeries {
  metric: Record<string, string>;
  /** [unix seconds, value text] */
  values: [number, string][];
}

/** The scrape config the tests use: one job, scraped every second. */
export function scrapeConfig(target: PrometheusTarget, keyFile?: string): string {
  const auth = keyFile ? `    authorization:\n      type: Bearer\n      credentials_file: ${keyFile}\n` : '';
  return [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    ...(target.ruleFiles?.length ? ['rule_files:', ...target.ruleFiles.map((f) => `  - ${f}`)] : []),
    'scrape_configs:',
    '  - job_name: modelwatch',
    '    metrics_path: /metrics',
    auth.trimEnd(),
    '    static_configs:',
    `      - targets: ['${target.address}']`,
  ]
    .filter((line) => line !== '')
    .join('\n');
}

/** Starts Prometheus on a free loopback port with its own data dir; stopped when the test ends. */
export async function startPrometheus(target: PrometheusTarget): Promise<RunningPrometheus> {
  const dir = tempDir('modelwatch-prometheus-');
  let keyFile: string | undefined;
  if (target.key) {
    keyFile = path.join(dir, 'metrics.key');
    writeFileSync(keyFile, target.key, { mode: 0o600 });
  }
  const config = path.join(dir, 'prometheus.yml');
  writeFileSync(config, scrapeConfig(target, keyFile));
  const port = await freePort();
  const child = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
  onTestFinished(async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`prometheus ready on ${url} (stderr: ${stderr})`, async () => {
    if (child.exitCode !== null) throw new Error(`prometheus exited ${child.exitCode}: ${stderr}`);
    return (await fetch(`${url}/-/ready`)).ok ? true : undefined;
  });
  return {
    url,
    process: child,
    async query(expr, range) {
      const params = new URLSearchParams({ query: expr });
      if (range) {
        params.set('start', String(range.start));
        params.set('end', String(range.end));
        params.set('step', String(range.step));
      }
      const body = await api(`${url}/api/v1/${range ? 'query_range' : 'query'}?${params.toString()}`);
      const data = body.data as { resultType: string; result: Record<string, unknown>[] };
      return data.result.map((r) => ({
        metric: r['metric'] as Record<string, string>,
        values: (r['values'] as [number, string][] | undefined) ?? [r['value'] as [number, string]],
      }));
    },
    async labelValues(label, match) {
      const params = new URLSearchParams({ 'match[]': match });
      return (await api(`${url}/api/v1/label/${encodeURIComponent(label)}/values?${params.toString()}`))
        .data as string[];
    },
  };
}

async function api(url: string): Promise<{ data: unknown }> {
  const response = await fetch(url);
  const body = (await response.json()) as { status: string; data: unknown; error?: string };
  if (body.status !== 'success') throw new Error(`${url}: ${body.error ?? response.status}`);
  return body;
}

export interface PromRule {
  name: string;
  type: 'alerting' | 'recording';
  health: string;
  lastError?: string;
  state?: string;
  alerts?: { labels: Record<string, string>; state: string }[];
}

/** Every loaded rule with its health and, for alerts, the active alerts. */
export async function loadedRules(prometheus: RunningPrometheus): Promise<PromRule[]> {
  const body = await api(`${prometheus.url}/api/v1/rules`);
  return (body.data as { groups: { rules: PromRule[] }[] }).groups.flatMap((g) => g.rules);
}

/** Targets and their health as Prometheus last scraped them. */
export async function scrapeHealth(
  prometheus: RunningPrometheus,
): Promise<{ health: string; lastError: string }[]> {
  const body = await api(`${prometheus.url}/api/v1/targets`);
  return (body.data as { activeTargets: { health: string; lastError: string }[] }).activeTargets;
}
