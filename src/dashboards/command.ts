import { parseOptions, type Command } from '../platform/cli/index.js';
import { ModelwatchError } from '../platform/errors.js';
import { writeDashboards } from './write.js';

const usage = 'modelwatch dashboards [--out DIR]';

export const dashboardsCommand: Command = {
  async run(args) {
    const { values, positionals } = parseOptions(args, { out: { type: 'string' } }, usage);
    if (positionals.length > 0) {
      throw new ModelwatchError(
        'BAD_REQUEST',
        `unexpected argument '${positionals.join(' ')}'; usage: ${usage}`,
      );
    }
    const out = values.out ?? 'dashboards';
    if (out === '') throw new ModelwatchError('BAD_REQUEST', `--out must name a directory; usage: ${usage}`);
    for (const d of await writeDashboards(out)) {
      process.stdout.write(`${d.changed ? 'wrote' : 'unchanged'} ${d.path} (${d.uid})\n`);
    }
    return 0;
  },
};
