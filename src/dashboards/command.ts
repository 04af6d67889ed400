import { parseOptions, UsageError, type Command } from '../platform/cli/index.js';
import { writeDashboards } from './write.js';

const usage = 'modelwatch dashboards [--out DIR]';

export const dashboardsCommand: Command = {
  async run(args) {
    // Words besides --out are refused by parseOptions, as usage errors (exit 2).
    const { values } = parseOptions(args, { out: { type: 'string' } }, usage);
    const out = values.out ?? 'dashboards';
    if (out === '') throw new UsageError(`--out must name a directory; usage: ${usage}`);
    for (const d of await writeDashboards(out)) {
      process.stdout.write(`${d.changed ? 'wrote' : 'unchanged'} ${d.path} (${d.uid})\n`);
    }
    return 0;
  },
};
