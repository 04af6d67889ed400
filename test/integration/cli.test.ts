import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { RunTimings } from '../../src/drift/offline/timings.js';
import { commands } from '../../src/cli/commands/index.js';
import { standalone } from '../../src/cli/standalone.js';
import { exitCodeFor } from '../../src/platform/cli/index.js';
import { errorMessage } from '../../src/platform/errors.js';
import { freePort } from '../../src/platform/kafka/local-broker/tools.js';
import { tempDir, waitFor } from '../support/harness.js';

const cli = path.resolve('dist/cli/main.js');

function run(args: string[], env: Record<string, string>) {
  const result = spawnSync(process.execPath, [cli, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** As `run`, without blocking this process, so several commands can run at once. */
function runAsync(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [cli, ...args],
      { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
    );
  });
}

describe('the modelwatch CLI', () => {
  it('is built', () => {
    expect(existsSync(cli), 'npm test builds the CLI first (npm run build)').toBe(true);
  });

  it('rejects bad configuration with one line naming the variable and exit code 2', () => {
    const result = run(['migrate'], { MODELWATCH_API_PORT: 'eighty' });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      "modelwatch: invalid configuration: MODELWATCH_API_PORT: expected a port number (got 'eighty')",
    ]);
  });

  it('applies migrations once; the second run is a no-op', () => {
    const env = { MODELWATCH_DATA_DIR: tempDir() };
    const first = run(['migrate'], env);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^applied 1 \(.*\), 2 \(.*\); now at version \d+/);
    const second = run(['migrate'], env);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^nothing to apply: .* is at version \d+/);
  });

  it('migrates a database of any plain name, even one a view could take for its table alias', async () => {
    // A view's tables are stored qualified (`p.labels`); ClickHouse reads a qualifier that matches
    // an alias in scope as the alias, so `p` and `l` as aliases once failed migration 50 there.
    const databases = ['p', 'l', 'j', 's'];
    const results = await Promise.all(
      databases.map((database) =>
        runAsync(['migrate'], { MODELWATCH_DATA_DIR: tempDir(), MODELWATCH_CLICKHOUSE_DATABASE: database }),
      ),
    );
    results.forEach((result, i) => {
      expect(result.stderr, databases[i]).toBe('');
      expect(result.code, databases[i]).toBe(0);
    });
  });

  it('names an unreachable ClickHouse server in one line, password masked, and exits 1', () => {
    const result = run(['migrate'], {
      MODELWATCH_CLICKHOUSE_URL: 'http://user:s3cret@127.0.0.1:1/monitoring',
    });
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^modelwatch: ClickHouse server http:\/\/user:\*\*\*@127\.0\.0\.1:1\/monitoring is unreachable: .*ECONNREFUSED/,
    );
    expect(result.stderr).not.toContain('s3cret');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("prints a command's usage for --help or -h on stdout and exits 0", () => {
    const drift = run(['drift', '--help'], {});
    expect(drift).toMatchObject({ code: 0, stderr: '' });
    expect(drift.stdout).toMatch(/^usage: modelwatch drift --reference FILE --current FILE/);
    const ingest = run(['bench', 'ingest', '-h'], {});
    expect(ingest).toMatchObject({ code: 0, stderr: '' });
    expect(ingest.stdout).toMatch(/^usage: modelwatch bench ingest \[--events N\]/);
    const benches = run(['bench', '--help'], {});
    expect(benches).toMatchObject({ code: 0, stderr: '' });
    expect(benches.stdout).toMatch(/^usage: modelwatch bench .*\n {2}ingest /);
  });

  it('explains usage errors in one line on stderr with exit code 2', () => {
    // End to end for a few; the rest of the command lines in-process below (each spawn costs ~1 CPU s).
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /^modelwatch: unknown command 'frobnicate' \(try modelwatch --help\)$/],
      [
        [],
        /^modelwatch: no command given: one of up, serve, migrate, .*\(modelwatch --help describes them\)$/,
      ],
      [['serve', '--bogus'], /^modelwatch: Unknown option '--bogus'.*; usage: modelwatch serve$/],
      [
        ['keys', 'create', '--role', 'superuser'],
        /^modelwatch: --role must be one of viewer, auditor, admin; usage: /,
      ],
    ];
    for (const [args, line] of cases) {
      const result = run(args, { MODELWATCH_DATA_DIR: tempDir() });
      expect({ args, code: result.code, stdout: result.stdout }).toEqual({ args, code: 2, stdout: '' });
      const lines = result.stderr.split('\n');
      expect(lines, args.join(' ')).toHaveLength(2);
      expect(lines[0], args.join(' ')).toMatch(line);
    }
  });

  it('refuses every other malformed command line as a usage error (exit 2), in one line, extra words included', async () => {
    const cases: [string[], RegExp][] = [
      [['up', '--speed'], /^Option '--speed <value>' argument missing; usage: modelwatch up /],
      [
        ['up', '--speed', '-5'],
        /^Option '--speed' argument is ambiguous\. Did you forget .*; usage: modelwatch up /,
      ],
      [['up', '--speed', 'abc'], /^--speed: expected a number/],
      [['serve', 'extra'], /^unexpected argument 'extra'; usage: modelwatch serve$/],
      [['migrate', 'extra'], /^unexpected argument 'extra'; usage: modelwatch migrate$/],
      [['kafka', '3'], /^unexpected argument '3'; usage: modelwatch kafka /],
      [['kafka', '--brokers', '9'], /^--brokers must be an integer from 1 to 5, got "9"$/],
      [['bench', 'nope'], /^unknown benchmark 'nope' \(modelwatch bench --help lists them\)$/],
      [['bench', '--out'], /^Option '--out <value>' argument missing; usage: modelwatch bench /],
      [
        ['bench', 'ingest', '--producer', 'librdkafka'],
        /^--producer must be java or kafkajs, got 'librdkafka'$/,
      ],
      [['bench', 'ingest', '--events', '1.5'], /^--events must be a whole number ≥ 0, got '1.5'$/],
      [['drift', '--reference', 'a.csv'], /^--reference and --current are required; usage: /],
      [['drift', 'extra'], /^unexpected argument 'extra'; usage: /],
      [
        ['audit', 'verify', '--digest', 'd.json', '--from-topic'],
        /^--digest and --from-topic exclude each other; usage: /,
      ],
      [['dashboards', '--out='], /^--out must name a directory; usage: modelwatch dashboards /],
      [['dashboards', 'extra'], /^unexpected argument 'extra'; usage: modelwatch dashboards /],
      [
        ['keys', 'create', '--role', 'viewer', 'myname'],
        /^unexpected argument 'myname'; usage: modelwatch keys /,
      ],
      [['keys', 'list', 'extra'], /^unexpected argument 'extra'; usage: modelwatch keys /],
      [['keys', 'revoke', 'a', 'b'], /^unexpected argument 'b'; usage: modelwatch keys /],
      // Checked before the service or the database is asked: both gave different answers.
      [['keys', 'revoke', 'nope'], /^'nope' is not a key id \(16 hex characters, see keys list\); usage: /],
    ];
    for (const [[name = '', ...rest], line] of cases) {
      const quick = standalone.get(name);
      const entry = commands.get(name);
      if (!quick && !entry) throw new Error(`no command ${name}`);
      const command = quick ? await quick() : await entry!.load();
      const error = await command.run(rest, { migrations: [] }).then(
        () => undefined,
        (err: unknown) => err,
      );
      const where = [name, ...rest].join(' ');
      expect(exitCodeFor(error), where).toBe(2);
      expect(errorMessage(error), where).toMatch(line);
      expect(errorMessage(error), where).not.toContain('\n');
    }
  });

  it('drift loads only what reading two files needs: not zod, the Kafka client or the CSV parser', () => {
    const dir = tempDir();
    // Node's own module hooks list every module the run loads (printed at exit).
    const hook = path.join(dir, 'list-modules.cjs');
    writeFileSync(
      hook,
      `const seen = [];
       require('node:module').registerHooks({ load(url, context, next) { seen.push(url); return next(url, context); } });
       process.on('exit', () => process.stderr.write(seen.join('\\n') + '\\n'));`,
    );
    const file = path.join(dir, 'a.csv');
    writeFileSync(file, 'x,y\n1,a\n2,b\n3,a\n');
    const result = spawnSync(
      process.execPath,
      ['--require', hook, cli, 'drift', '--reference', file, '--current', file, '--format', 'json'],
      { encoding: 'utf8', timeout: 120_000 },
    );
    expect(result.status, result.stderr).toBe(0);
    expect(
      (JSON.parse(result.stdout) as { buckets: { columns: unknown[] }[] }).buckets[0]!.columns,
    ).toHaveLength(2);
    const modules = result.stderr.split('\n').filter((line) => line.startsWith('file:'));
    expect(modules.some((url) => url.includes('/node_modules/chdb/'))).toBe(true);
    expect(
      modules.filter((url) => /\/node_modules\/(zod|kafkajs|csv-parse|fastify|pino)\//.test(url)),
    ).toEqual([]);
  });

  it('drift --timings: one JSON line on stderr with the phases of the run, which add up to its total', () => {
    const dir = tempDir();
    const file = path.join(dir, 'a.csv');
    writeFileSync(file, 'x,y\n1,a\n2,b\n3,a\n');
    const plain = run(['drift', '--reference', file, '--current', file, '--format', 'json'], {});
    expect(plain).toMatchObject({ code: 0, stderr: '' });
    const timed = run(['drift', '--reference', file, '--current', file, '--format', 'json', '--timings'], {});
    expect(timed.code, timed.stderr).toBe(0);
    expect(timed.stdout).toBe(plain.stdout);
    const lines = timed.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    const t = (JSON.parse(lines[0]!) as { timings_ms: RunTimings }).timings_ms;
    // A fresh process opens the engine: both of its phases took time.
    expect(t.engine_library).toBeGreaterThan(0);
    expect(t.engine_open).toBeGreaterThan(0);
    expect(t.read_and_compute).toBeGreaterThan(0);
    const phases = t.start + t.engine_library + t.engine_open + t.read_and_compute + t.output;
    expect(Math.abs(phases - t.total)).toBeLessThan(0.5);
    expect(Math.abs(t.after_start - (t.total - t.start - t.engine_library))).toBeLessThan(0.3);
  });

  it('audit verify: ok on an intact store, exit 1 naming the chain when a held digest is ahead of it', () => {
    const env = { MODELWATCH_DATA_DIR: tempDir() };
    expect(run(['migrate'], env).code).toBe(0);
    const intact = run(['audit', 'verify'], env);
    expect(intact.code).toBe(0);
    expect(JSON.parse(intact.stdout)).toEqual({ ok: true, checked: 0, chains: 0 });
    const digest = path.join(tempDir(), 'digest.json');
    writeFileSync(
      digest,
      JSON.stringify([{ chain: 'c1', position: 3, hash: 'a'.repeat(64), at: '2026-01-01T00:00:00Z' }]),
    );
    const truncated = run(['audit', 'verify', '--digest', digest], env);
    expect(truncated.code).toBe(1);
    expect(JSON.parse(truncated.stdout)).toMatchObject({
      ok: false,
      first_broken: { chain: 'c1', reason: 'truncated' },
    });
    const usage = run(['audit', 'check'], env);
    expect(usage.stderr).toBe('modelwatch: usage: modelwatch audit verify [--digest FILE | --from-topic]\n');
  });

  it('audit verify, keys list and keys revoke refuse a data dir without a modelwatch database, creating nothing', async () => {
    const missing = path.join(tempDir(), 'not-here');
    const reads = [
      ['audit', 'verify'],
      ['keys', 'list'],
      ['keys', 'revoke', '0123456789abcdef'],
    ];
    const results = await Promise.all(reads.map((args) => runAsync(args, { MODELWATCH_DATA_DIR: missing })));
    results.forEach((result, i) => {
      const where = reads[i]!.join(' ');
      expect({ code: result.code, stdout: result.stdout }, where).toEqual({ code: 2, stdout: '' });
      expect(result.stderr, where).toBe(
        `modelwatch: no modelwatch data at ${missing}; set MODELWATCH_DATA_DIR\n`,
      );
    });
    expect(existsSync(missing)).toBe(false);

    // A data dir holding another database: named, and that one is not created either.
    const other = tempDir();
    expect(run(['migrate'], { MODELWATCH_DATA_DIR: other }).code).toBe(0);
    const elsewhere = run(['keys', 'list'], {
      MODELWATCH_DATA_DIR: other,
      MODELWATCH_CLICKHOUSE_DATABASE: 'other',
    });
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toBe(
      `modelwatch: no modelwatch database 'other' at ${other}; set MODELWATCH_DATA_DIR or MODELWATCH_CLICKHOUSE_DATABASE\n`,
    );
    expect(existsSync(path.join(other, 'clickhouse', 'metadata', 'other.sql'))).toBe(false);
  });

  it('up prints the ClickHouse URL with its password masked, as its logs do, which name the server once', async () => {
    const child = spawn(process.execPath, [cli, 'up', '--no-simulator'], {
      env: {
        ...process.env,
        MODELWATCH_CLICKHOUSE_URL: 'http://user:s3cret@127.0.0.1:1/mw',
        MODELWATCH_KAFKA_BROKERS: '127.0.0.1:1',
        MODELWATCH_API_PORT: String(await freePort()),
        MODELWATCH_LOG_FORMAT: 'json',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onTestFinished(() => void child.kill('SIGKILL'));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const unreachable = await waitFor('a log line naming the ClickHouse server', () =>
      Promise.resolve(stderr.split('\n').find((line) => line.includes('127.0.0.1:1/mw'))),
    );
    expect(stdout).toContain('  ClickHouse http://user:***@127.0.0.1:1/mw\n');
    expect(unreachable.match(/is unreachable/g)).toHaveLength(1);
    expect(unreachable).toMatch(
      /"ClickHouse server http:\/\/user:\*\*\*@127\.0\.0\.1:1\/mw is unreachable: /,
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout + stderr).not.toContain('s3cret');
  });

  it('prints a new API key once', () => {
    const result = run(['keys', 'create', '--role', 'viewer'], { MODELWATCH_DATA_DIR: tempDir() });
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^mw_[A-Za-z0-9_-]{43}$/);
  });

  it('keys and audit verify work on an unlocked data dir while another program answers on the API port', async () => {
    // 8080 is a common port: a program there answering 200 on /healthz is not a modelwatch
    // holding the data dir (its lock would say so), and is never asked.
    const asked: string[] = [];
    const other = createServer((req, res) => {
      asked.push(req.url ?? '');
      if (req.url === '/healthz') res.end('ok');
      else res.writeHead(404, { 'content-type': 'text/html' }).end('<!DOCTYPE html><html></html>');
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => other.close(() => resolve())));
    const env = {
      MODELWATCH_DATA_DIR: tempDir(),
      MODELWATCH_API_PORT: String((other.address() as AddressInfo).port),
      MODELWATCH_ADMIN_KEY: 'an-admin-key-of-16+-characters',
    };
    const created = await runAsync(['keys', 'create', '--role', 'viewer', '--name', 'beside'], env);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout.trim()).toMatch(/^mw_/);
    const listed = await runAsync(['keys', 'list'], env);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain('"name":"beside"');
    const verified = await runAsync(['audit', 'verify'], env);
    expect(verified.code, verified.stderr).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true });
    expect(asked).toEqual([]);
  });

  it('serve keeps running and reports not ready while Kafka is unreachable, naming it', async () => {
    const port = await freePort();
    const dataDir = tempDir();
    const child = spawn(process.execPath, [cli, 'serve'], {
      env: {
        ...process.env,
        MODELWATCH_KAFKA_BROKERS: '127.0.0.1:1',
        MODELWATCH_DATA_DIR: dataDir,
        MODELWATCH_API_PORT: String(port),
        MODELWATCH_API_HOST: '127.0.0.1',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    onTestFinished(() => void child.kill('SIGKILL'));

    const ready = await waitFor('ClickHouse migrated while Kafka is down', async () => {
      const response = await fetch(`http://127.0.0.1:${port}/readyz`);
      const body = (await response.json()) as { checks: Record<string, boolean> };
      return body.checks['clickhouse'] ? { status: response.status, body } : undefined;
    });
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ ready: false, checks: { clickhouse: true, kafka: false } });
    await waitFor('a log line naming the broker', () =>
      Promise.resolve(stderr.includes('127.0.0.1:1') ? true : undefined),
    );
    expect(child.exitCode).toBeNull();

    // serve holds its embedded engine's dir: a command looking for it on another port is told
    // which process holds the dir, in one line (the engine's "Cannot lock file" named neither).
    const elsewhere = { MODELWATCH_DATA_DIR: dataDir, MODELWATCH_API_PORT: String(await freePort()) };
    const held = `modelwatch (pid ${child.pid}) holds ${dataDir} and does not answer on http://127.0.0.1:${elsewhere.MODELWATCH_API_PORT}: set MODELWATCH_API_PORT to the port it listens on\n`;
    for (const args of [
      ['keys', 'list'],
      ['audit', 'verify'],
    ]) {
      const answer = await runAsync(args, elsewhere);
      expect({ code: answer.code, stderr: answer.stderr }, args.join(' ')).toEqual({
        code: 1,
        stderr: `modelwatch: ${held}`,
      });
    }
    const second = await runAsync(['serve'], { ...elsewhere, MODELWATCH_KAFKA_BROKERS: '127.0.0.1:1' });
    expect(second).toMatchObject({
      code: 1,
      stderr: `modelwatch: another modelwatch (pid ${child.pid}) uses ${dataDir}\n`,
    });

    // Bounded like any shutdown (below an orchestrator's 10 s), although kafkajs still retries the
    // connect begun at start-up.
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const signalled = Date.now();
    child.kill('SIGTERM');
    const code = await Promise.race([
      exited,
      new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 10_000)),
    ]);
    expect(code).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(10_000);
    expect(stderr).not.toMatch(/\n\s+at .*\.js:\d+/);
  });
});
