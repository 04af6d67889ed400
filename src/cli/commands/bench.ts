import type { Entry } from '../../platform/capability/index.js';
import type { Bench, Command } from '../../platform/cli/index.js';
import { ModelwatchError, UsageRequested } from '../../platform/errors.js';
import { startService } from '../../service/index.js';
import { runAllBenches } from './bench-all.js';

/**
 * `modelwatch bench <name>`: runs one capability's benchmark, handing it the service to start;
 * without a name (or with `--out FILE` only), every benchmark and one report (bench-all.ts).
 */
export function benchCommand(benches: ReadonlyMap<string, Entry<Bench>>): Command {
  return {
    async run(args, context) {
      if (args.length === 0) return runAllBenches();
      if (args.length === 2 && args[0] === '--out') return runAllBenches(args[1]);
      const [name, ...rest] = args;
      const entry = name === undefined ? undefined : benches.get(name);
      if (!entry) {
        const list = [...benches].map(([n, b]) => `  ${n.padEnd(10)} ${b.summary}`).join('\n');
        const usage = `usage: modelwatch bench [<name> [options]] [--out FILE]; benchmarks:\n${list}`;
        if (name === '--help' || name === '-h') throw new UsageRequested(usage);
        throw new ModelwatchError('BAD_REQUEST', `unknown benchmark '${name}'; ${usage}`);
      }
      const bench = await entry.load();
      await bench.run(rest, {
        ...context,
        startService: async (options) => {
          const service = await startService(options);
          return { db: service.platform.db, ready: service.ready, close: () => service.close() };
        },
      });
      return 0;
    },
  };
}
