import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { auditMigrations } from '../../src/audit/index.js';
import { migrate, openDatabase } from '../../src/platform/clickhouse/index.js';
import { freePort } from '../../src/platform/kafka/local-broker/tools.js';
import { isolatedEnv, tempDir, waitFor } from '../support/harness.js';

/**
 * A CSV export of N audit rows from a service running in its own process (`modelwatch serve`),
 * its RSS read from /proc while the export streams. N is 100,000 by default and 1,000,000 with
 * MODELWATCH_AUDIT_1M=1 (20 s to a minute and a half of export on 2 cores, by load), as
 * `npm run test:long` runs it (vitest.long.config.ts); alone:
 *   MODELWATCH_AUDIT_1M=1 npx vitest run test/integration/audit-export-rss.test.ts
 * The rows are written with one INSERT … SELECT: the export does not verify, so their hashes are
 * not linked (the 1M chain that verifies is audit-1m.test.ts). The V8 heap figures come from the
 * service's own /metrics. Measured with the engine-written CSV (src/audit/README.md): 100k rows
 * +31 MB in 1.9 s; 1M rows +0.4 MB and +6.3 MB over the warm-up in two runs (29–58 s by load).
 */
const N = process.env['MODELWATCH_AUDIT_1M'] === '1' ? 1_000_000 : 100_000;
const MB = 1024 * 1024;
const cli = path.resolve('dist/cli/main.js');
const T0 = Date.UTC(2026, 0, 1);

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return Number(kb) * 1024;
}

const RECORD = `concat('{"action":"read","at":"', formatDateTime(at, '%Y-%m-%dT%H:%i:%S.000Z', 'UTC'),
  '","details":{"event_id":"e-', toString(number), '","purpose":"monitoring"},"entity_id":"', entity_id,
  '","kind":"access","model_id":"', model_id, '","outcome":"allowed","principal":"', principal,
  '","resource_id":"', resource_id, '","resource_type":"prediction"}')`;

async function seed(dataDir: string, database: string): Promise<void> {
  const db = await openDatabase({ url: undefined, cluster: undefined, database, dataDir });
  try {
    await migrate(db, auditMigrations);
    await db.client.command({
      query: `INSERT INTO audit_events (chain, position, prev_hash, hash, record, kind, at, principal, action, resource_type, resource_id, model_id, entity_id, outcome)
        SELECT 'big', number + 1, lower(hex(SHA256(toString(number)))), lower(hex(SHA256(toString(number + 1)))), ${RECORD},
               'access', at, principal, 'read', 'prediction', resource_id, model_id, entity_id, 'allowed'
        FROM (SELECT number, fromUnixTimestamp64Milli(toInt64(${T0} + number * 10), 'UTC') AS at,
                     concat('svc-', toString(number % 50)) AS principal, concat('p-', toString(number)) AS resource_id,
                     concat('model-', toString(number % 5)) AS model_id, concat('customer-', toString(number % 10000)) AS entity_id
              FROM numbers(${N}))`,
    });
  } finally {
    await db.close();
  }
}

describe('CSV export of audit rows from a service process', () => {
  it(
    `streams ${N.toLocaleString('en')} rows with the service's RSS rising by less than 100 MB`,
    { timeout: 900_000 },
    async () => {
      const env = isolatedEnv({ MODELWATCH_LOG_LEVEL: 'error' });
      const dataDir = tempDir('modelwatch-export-rss-');
      const database = env['MODELWATCH_CLICKHOUSE_DATABASE'] ?? 'export_rss';
      await seed(dataDir, database);

      const port = await freePort();
      const child = spawn(process.execPath, [cli, 'serve'], {
        env: {
          ...process.env,
          ...env,
          MODELWATCH_DATA_DIR: dataDir,
          MODELWATCH_API_PORT: String(port),
          NODE_OPTIONS: process.env['EXP_NODE_OPTIONS'] ?? '',
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      onTestFinished(async () => {
        if (child.exitCode !== null) return;
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
      });
      const pid = child.pid ?? 0;
      const base = `http://127.0.0.1:${port}`;
      const headers = { authorization: `Bearer ${env['MODELWATCH_ADMIN_KEY'] ?? ''}` };
      await waitFor(
        'the service ready',
        async () => ((await fetch(`${base}/readyz`)).status === 200 ? true : undefined),
        120_000,
      );
      const cold = rssOf(pid);
      // Start-up work reads the seeded chain too (the first verification): let it finish, so the
      // figures below are the export's.
      await waitFor(
        'the first verification done',
        async () => {
          const text = await (await fetch(`${base}/metrics`, { headers })).text();
          return Number(/^modelwatch_audit_last_verification_seconds (\S+)/m.exec(text)?.[1] ?? 0) > 0
            ? true
            : undefined;
        },
        120_000,
      );
      const settled = rssOf(pid);
      // Warm-up: an export of a 10,000-row window, so the baseline holds what any export allocates
      // once (the engine's and V8's pools); the figure that must stay flat is what the other rows add.
      const warm = await fetch(`${base}/api/v1/audit/events?format=csv&to=${T0 + 100_000}`, { headers });
      expect(warm.status).toBe(200);
      expect((await warm.text()).split('\r\n').filter((l) => l.startsWith('big,'))).toHaveLength(10_000);

      const heap = async () => {
        const text = await (await fetch(`${base}/metrics`, { headers })).text();
        const pick = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? 0) / MB;
        return `heap total ${pick('modelwatch_nodejs_heap_size_total_bytes').toFixed(0)} MB, used ${pick('modelwatch_nodejs_heap_size_used_bytes').toFixed(0)} MB, external ${pick('modelwatch_nodejs_external_memory_bytes').toFixed(0)} MB`;
      };
      console.log(`before: ${await heap()}`);
      const baseline = rssOf(pid);
      let peak = baseline;
      const sampler = setInterval(() => {
        peak = Math.max(peak, rssOf(pid));
      }, 100);
      const started = performance.now();
      const response = await fetch(`${base}/api/v1/audit/events?format=csv`, { headers });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/csv');
      let lines = 0;
      let bytes = 0;
      let tail = '';
      const decoder = new TextDecoder();
      for await (const chunk of (response.body ?? []) as AsyncIterable<Uint8Array>) {
        bytes += chunk.byteLength;
        const text = tail + decoder.decode(chunk, { stream: true });
        const parts = text.split('\r\n');
        tail = parts.pop() ?? '';
        lines += parts.filter((line) => line.startsWith('big,')).length;
        peak = Math.max(peak, rssOf(pid));
      }
      clearInterval(sampler);
      console.log(`after: ${await heap()}`);
      const seconds = (performance.now() - started) / 1000;
      const rise = (peak - baseline) / MB;
      console.log(
        `audit CSV export of ${N} rows from a service process: ${seconds.toFixed(1)} s, ${(bytes / MB).toFixed(0)} MB sent; ` +
          `service RSS ${(cold / MB).toFixed(0)} MB when ready, ${(settled / MB).toFixed(0)} MB after start-up work, ` +
          `${(baseline / MB).toFixed(0)} MB after a 10,000-row export, ` +
          `peak ${(peak / MB).toFixed(0)} MB during this one: +${rise.toFixed(1)} MB (+${((peak - settled) / MB).toFixed(1)} MB from before the warm-up)`,
      );
      // One line per seeded row (the service's own records of this run are in other chains).
      expect(lines).toBe(N);
      expect(rise).toBeLessThan(100);
    },
  );
});
