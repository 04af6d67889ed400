#!/usr/bin/env -S node --max-semi-space-size=16
import { enableCompileCache } from 'node:module';
import { UsageRequested } from '../platform/errors.js';
import { exitCodeFor, UsageError } from '../platform/cli/index.js';
import { failureText } from './failure.js';
import { standalone } from './standalone.js';

// The modules' compiled code is cached on disk (Node's compile cache, in the temporary directory):
// compiling them is a good part of a short command's start (`modelwatch drift` on small files).
enableCompileCache();

// A reader that stops early (`modelwatch drift … | head`) closes the pipe: end quietly, as
// command-line tools do, instead of an unhandled 'error' event's stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(0);
});

function usageText(commands: ReadonlyMap<string, { summary: string }>): string {
  return `modelwatch: model monitoring and governance

usage: modelwatch <command> [options]

commands:
${[...commands].map(([name, command]) => `  ${name.padEnd(14)} ${command.summary}`).join('\n')}

Configuration comes from MODELWATCH_* environment variables (see README).`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const quick = name === undefined ? undefined : standalone.get(name);
  if (quick) return (await quick()).run(rest, { migrations: [] });
  const [{ allMigrations }, { capabilities }, { commands }] = await Promise.all([
    import('../platform/capability/index.js'),
    import('../service/index.js'),
    import('./commands/index.js'),
  ]);
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usageText(commands)}\n`);
    return 0;
  }
  if (name === undefined)
    throw new UsageError(
      `no command given: one of ${[...commands.keys()].join(', ')} (modelwatch --help describes them)`,
    );
  const entry = commands.get(name);
  if (!entry) throw new UsageError(`unknown command '${name}' (try modelwatch --help)`);
  const command = await entry.load();
  return command.run(rest, { migrations: allMigrations(capabilities) });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageRequested) {
      process.stdout.write(`${err.usage}\n`);
      process.exitCode = 0;
      return;
    }
    // One clear line, never a stack trace (set MODELWATCH_DEBUG=1 for the whole message and the stack).
    process.stderr.write(failureText(err, Boolean(process.env['MODELWATCH_DEBUG'])));
    process.exitCode = exitCodeFor(err);
  },
);
