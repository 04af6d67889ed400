import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
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
  const error = await failure(args);
  const where = args.join(' ');
  expect(errorMessage(error), where).toMatch(line);
  expect(errorMessage(error), where).not.toContain('\n');
  expect(exitCodeFor(error), where).toBe(2);
}

describe('exit codes of the CLI (README, "CLI")', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('is 2 for configuration the command needs and does not have', async () => {
    vi.stubEnv('MODELWATCH_KAFKA_BROKERS', undefined);
    await expectUsageError(
      ['audit', 'verify', '--from-topic'],
      /^--from-topic needs MODELWATCH_KAFKA_BROKERS/,
    );

    // A service answering on the API port holds the database: keys then needs the admin key.
    const server = createServer((_req, res) => res.end('{}'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      vi.stubEnv('MODELWATCH_API_PORT', String((server.address() as AddressInfo).port));
      vi.stubEnv('MODELWATCH_ADMIN_KEY', undefined);
      await expectUsageError(['keys', 'list'], /set MODELWATCH_ADMIN_KEY to manage keys through its API$/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
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
});
