import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { commands } from '../../../src/cli/commands/index.js';
import { standalone } from '../../../src/cli/standalone.js';
import { exitCodeFor } from '../../../src/platform/cli/index.js';
import { errorMessage, UsageRequested } from '../../../src/platform/errors.js';

/** What `modelwatch <args>` throws, in-process (main.ts turns it into the exit code). */
async function failure(args: string[]): Promise<unknown> {
  const [name = '', ...rest] = args;
  const quick = standalone.get(name);
  const entry = commands.get(name);
  if (!quick && !entry) throw new Error(`no command ${name}`);
  const command = quick ? await quick() : await entry!.load();
  return command.run(rest, { migrations: [] }).then(
    () => new Error(`${args.join(' ')} ran`),
    (err: unknown) => err,
  );
}

async function expectUsageError(args: string[], line: RegExp): Promise<void> {
  await expectError(args, line, 2);
}

async function expectError(args: string[], line: RegExp, code: 1 | 2): Promise<void> {
  const error = await failure(args);
  const where = args.join(' ');
  expect(errorMessage(error), where).toMatch(line);
  expect(errorMessage(error), where).not.toContain('\n');
  expect(exitCodeFor(error), where).toBe(code);
}

/** `text` as a regular expression matching it literally. */
const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A fresh directory, removed after the test. */
function freshDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'mw-exit-codes-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `dir` held as `up` or `serve` holds it (modelwatch.pid) by another process, running until the test ends. */
function heldByAnotherProcess(dir: string): number {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  onTestFinished(() => void child.kill('SIGKILL'));
  const pid = child.pid!;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const started = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'modelwatch.pid'), `${pid} ${started}\n`);
  return pid;
}

/** An HTTP server on a free loopback port, answering with `handle`; its port, and the paths it was asked. */
async function someServer(handle: (req: IncomingMessage, res: ServerResponse) => void) {
  const asked: string[] = [];
  const server = createServer((req, res) => {
    asked.push(req.url ?? '');
    handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: String((server.address() as AddressInfo).port), asked };
}

/** Another program on the API port: 200 on /healthz, an HTML page elsewhere. */
const notModelwatch = (req: IncomingMessage, res: ServerResponse) => {
  if (req.url === '/healthz') res.end('ok');
  else res.writeHead(404, { 'content-type': 'text/html' }).end('<!DOCTYPE html>\n<html>not here</html>');
};

describe('exit codes of the CLI (README, "CLI")', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('is 2 for configuration the command needs and does not have', async () => {
    vi.stubEnv('MODELWATCH_KAFKA_BROKERS', undefined);
    await expectUsageError(
      ['audit', 'verify', '--from-topic'],
      /^--from-topic needs MODELWATCH_KAFKA_BROKERS/,
    );

    // A running modelwatch holds the data dir (its lock) and answers on the API port: keys then
    // needs the admin key to go through its API.
    const dataDir = freshDir();
    heldByAnotherProcess(dataDir);
    const { port } = await someServer((_req, res) => res.end('{"ok":true}'));
    vi.stubEnv('MODELWATCH_DATA_DIR', dataDir);
    vi.stubEnv('MODELWATCH_CLICKHOUSE_URL', undefined);
    vi.stubEnv('MODELWATCH_API_PORT', port);
    vi.stubEnv('MODELWATCH_ADMIN_KEY', undefined);
    await expectUsageError(['keys', 'list'], /set MODELWATCH_ADMIN_KEY to manage keys through its API$/);
    await expectUsageError(['audit', 'verify'], /set MODELWATCH_ADMIN_KEY to verify through its API$/);
  });

  it('takes no other program on the API port for the service: an unlocked data dir is opened directly', async () => {
    // 8080 is a common port: a program there answering 200 on /healthz held nothing.
    const dataDir = path.join(freshDir(), 'data');
    const { port, asked } = await someServer(notModelwatch);
    vi.stubEnv('MODELWATCH_DATA_DIR', dataDir);
    vi.stubEnv('MODELWATCH_CLICKHOUSE_URL', undefined);
    vi.stubEnv('MODELWATCH_API_PORT', port);
    for (const adminKey of [undefined, 'an-admin-key-of-16+-characters']) {
      vi.stubEnv('MODELWATCH_ADMIN_KEY', adminKey);
      // The command goes to the data dir, which holds no database here (it would open the engine).
      for (const args of [
        ['keys', 'list'],
        ['keys', 'revoke', '0123456789abcdef'],
        ['audit', 'verify'],
      ])
        await expectUsageError(
          args,
          new RegExp(`^no modelwatch data at ${dataDir}; set MODELWATCH_DATA_DIR$`),
        );
    }
    expect(asked).toEqual([]);
  });

  it('names the URL and status, in one line, when what answers for the holding service is not modelwatch', async () => {
    const dataDir = freshDir();
    heldByAnotherProcess(dataDir);
    const { port } = await someServer(notModelwatch);
    vi.stubEnv('MODELWATCH_DATA_DIR', dataDir);
    vi.stubEnv('MODELWATCH_CLICKHOUSE_URL', undefined);
    vi.stubEnv('MODELWATCH_API_PORT', port);
    vi.stubEnv('MODELWATCH_ADMIN_KEY', 'an-admin-key-of-16+-characters');
    const base = `http://127\\.0\\.0\\.1:${port}`;
    await expectError(
      ['keys', 'list'],
      new RegExp(
        `^the service at ${base}/api/v1/keys answered 404, not JSON \\(<!DOCTYPE html>\\): is modelwatch listening on ${base}\\?$`,
      ),
      1,
    );
    await expectError(
      ['audit', 'verify'],
      new RegExp(`^the service at ${base}/api/v1/audit/verify answered 404, not JSON `),
      1,
    );
  });

  it.each([['metrics'], ['metrics-api']])('bench %s --help prints its usage (exit 0)', async (name) => {
    for (const help of ['--help', '-h']) {
      const error = await failure(['bench', name, help]);
      expect(error, `${name} ${help}`).toBeInstanceOf(UsageRequested);
      expect((error as UsageRequested).usage).toMatch(new RegExp(`^usage: modelwatch bench ${name} \\[`));
    }
  });

  it('is 2 for bad benchmark options, in one line', async () => {
    await expectUsageError(
      ['bench', 'metrics', '--rows', '-1'],
      /^bench metrics: bad option --rows -1; usage: modelwatch bench metrics /,
    );
    await expectUsageError(
      ['bench', 'metrics-api', '--only', 'x'],
      /^bench metrics-api: bad option --only x; usage: /,
    );
    await expectUsageError(
      ['bench', 'inference', '--rows', '0'],
      /^--rows must be a whole number above 0, got '0'; usage: /,
    );
    await expectUsageError(
      ['bench', 'change-detection', '--runs', '0'],
      /^--runs: a whole number in 1\.\.10000/,
    );
    await expectUsageError(
      ['bench', 'drift', '--features', '1.5'],
      /^--features must be a whole number above 0, got '1\.5'; usage: modelwatch bench drift /,
    );
    await expectUsageError(
      ['bench', 'shadow', '--rows', 'abc'],
      /^--rows must be a whole number above 0, got 'abc'; usage: modelwatch bench shadow /,
    );
    await expectUsageError(
      ['bench', 'shadow-steps', '--batch', '0'],
      /^--batch must be a whole number above 0, got '0'; usage: modelwatch bench shadow-steps /,
    );
  });

  it('is 2 for words a benchmark does not take, before any work starts', async () => {
    // Were a word let through, the benchmark would stop at this configuration, not run.
    vi.stubEnv('MODELWATCH_API_PORT', 'eighty');
    const cases: string[][] = [
      ['ingest', 'extra', '--producer', 'kafkajs'],
      ['metrics', 'extra'],
      ['metrics-api', 'extra'],
      ['drift', 'extra', '--rows', '0'],
      ['inference', 'extra'],
      ['shadow', 'extra'],
      ['shadow-steps', 'extra'],
      ['change-detection', 'extra', '--runs', '0'],
    ];
    for (const [name = '', ...rest] of cases)
      await expectUsageError(
        ['bench', name, ...rest],
        /(unexpected argument 'extra'|bad option extra)[ ;].*usage: /,
      );
  });

  it('is 2 for empty, blank and hex numbers, which read as 0 or 16 before', async () => {
    vi.stubEnv('MODELWATCH_API_PORT', 'eighty');
    for (const text of ['', ' ', '0x10']) {
      for (const option of ['--labeled', '--warm', '--optimize', '--raw', '--rows'])
        await expectUsageError(
          ['bench', 'metrics', option, text],
          new RegExp(`^bench metrics: bad option ${option}( ${text.trim()})?; usage: `),
        );
      for (const option of ['--labeled', '--max-threads', '--concurrency', '--connections'])
        await expectUsageError(
          ['bench', 'metrics-api', option, text],
          new RegExp(`^bench metrics-api: bad option ${option}( ${text.trim()})?; usage: `),
        );
      for (const option of ['--events', '--rate', '--seconds', '--minutes'])
        await expectUsageError(
          ['bench', 'ingest', option, text],
          new RegExp(`^${option} must be a whole number ≥ [01], got '${text}'$`),
        );
      await expectUsageError(['up', '--speed', text], /^--speed: expected a number from 1 /);
    }
    // Within 1 to 5 as Number() read them ('0x3' as 3, ' 2 ' as 2): they started a cluster.
    for (const text of ['', ' ', '0x3', ' 2 ', '0b10', '+2'])
      await expectUsageError(
        ['kafka', '--brokers', text],
        new RegExp(`^--brokers must be an integer from 1 to 5, got ${literal(JSON.stringify(text))}$`),
      );
  });

  it("is 2 for kafka given an empty --data-dir (regression: ENOENT, mkdir '', exit 1)", async () => {
    for (const args of [['--data-dir='], ['--data-dir', '']])
      await expectUsageError(
        ['kafka', ...args],
        /^--data-dir must name a directory; usage: modelwatch kafka /,
      );
  });

  it('is 2 for bench ingest given both --seconds and --minutes, and takes --node-flags="--flag …"', async () => {
    vi.stubEnv('MODELWATCH_API_PORT', 'eighty');
    await expectUsageError(
      ['bench', 'ingest', '--seconds', '30', '--minutes', '1'],
      /^--seconds and --minutes exclude each other; usage: modelwatch bench ingest .*\[--node-flags="--flag …"\]/,
    );
    // The form the usage shows parses (the next check is about --events).
    await expectUsageError(
      ['bench', 'ingest', '--node-flags=--max-semi-space-size=16 --expose-gc', '--events', '1.5'],
      /^--events must be a whole number ≥ 0, got '1\.5'$/,
    );
  });

  it('is 2 for drift given an empty file or timestamp column', async () => {
    const files = ['--reference', 'r.csv', '--current', 'c.csv'];
    for (const args of [
      [...files, '--timestamp-column', ''],
      [...files, '--timestamp-column='],
      [...files, '--timestamp-column=', '--bucket', '1d'],
    ])
      await expectUsageError(
        ['drift', ...args],
        /^--timestamp-column must name a column; usage: modelwatch drift /,
      );
    await expectUsageError(
      ['drift', '--reference', '', '--current', 'c.csv'],
      /^--reference must name a file; usage: /,
    );
    await expectUsageError(
      ['drift', '--reference=r.csv', '--current='],
      /^--current must name a file; usage: /,
    );
  });

  it('refuses a held digest with no chain heads, as a digest it cannot use (exit 1, as an unreadable or malformed one)', async () => {
    const dir = freshDir();
    vi.stubEnv('MODELWATCH_DATA_DIR', path.join(dir, 'data'));
    vi.stubEnv('MODELWATCH_CLICKHOUSE_URL', undefined);
    vi.stubEnv('MODELWATCH_KAFKA_BROKERS', undefined);
    for (const [name, text] of [
      ['empty.json', ''],
      ['blank.json', '\n  \n'],
      ['list.json', '[]'],
      ['heads.json', '{"heads":[]}'],
    ] as const) {
      const file = path.join(dir, name);
      writeFileSync(file, text);
      await expectError(
        ['audit', 'verify', '--digest', file],
        new RegExp(
          `^--digest: ${file} holds no chain heads \\(empty\\); nothing to check the store against$`,
        ),
        1,
      );
    }
    // The same exit code as a digest that cannot be read or parsed.
    await expectError(
      ['audit', 'verify', '--digest', path.join(dir, 'missing.json')],
      /^--digest: cannot read /,
      1,
    );
    writeFileSync(path.join(dir, 'bad.json'), '[{"chain":"c"}]');
    await expectError(['audit', 'verify', '--digest', path.join(dir, 'bad.json')], /^digest\[0\]/, 1);
  });
});
