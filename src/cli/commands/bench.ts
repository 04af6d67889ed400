import type { Entry } from '../../platform/capability/index.js';
import {
  cleanUpOnSignal,
  parseOptions,
  UsageError,
  type Bench,
  type Command,
} from '../../platform/cli/index.js';
import { UsageRequested } from '../../platform/errors.js';
import { startService } from '../../service/index.js';
import { runAllBenches } from './bench-all.js';

/**
 * `modelwatch bench <name>`: runs one capability's benchmark, handing it the service to start;
 * without a name (or with `--out FILE` only), every benchmark and one report (bench-all.ts).
 */
export function benchCommand(benches: ReadonlyMap<string, Entry<Bench>>): Command {
  const list = [...benches].map(([n, b]) => `  ${n.padEnd(10)} ${b.summary}`).join('\n');
  const usage = 'modelwatch bench [<name> [options]] [--out FILE]';
  return {
    async run(args, context) {
      const [name, ...rest] = args;
      if (name === '--help' || name === '-h')
        throw new UsageRequested(`usage: ${usage}; benchmarks:\n${list}`);
      if (name === undefined || name.startsWith('-')) {
        const { values } = parseOptions(args, { out: { type: 'string' } }, usage, {
          allowPositionals: false,
        });
        if (values.out === '') throw new UsageError(`--out must name a file; usage: ${usage}`);
        return runAllBenches(values.out);
      }
      const entry = benches.get(name);
      if (!entry) throw new UsageError(`unknown benchmark '${name}' (modelwatch bench --help lists them)`);
      const bench = await entry.load();
      await bench.run(rest, {
        ...context,
        startService: async (options) => {
          const service = await startService(options);
          // Closed on Ctrl-C before the bench's data dir goes: its engine would write there again.
          const release = cleanUpOnSignal(() => service.close());
          const close = () => {
            release();
            return service.close();
          };
          return { db: service.platform.db, ready: service.ready, close };
        },
      });
      return 0;
    },
  };
}
