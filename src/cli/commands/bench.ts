import { benches } from '../../bench/index.js';
import { ModelwatchError } from '../../platform/errors.js';
import type { Command } from './command.js';

export const benchCommand: Command = {
  summary: `run a benchmark: bench <${Object.keys(benches).join('|') || 'name'}> [options]`,
  async run(args) {
    const [name, ...rest] = args;
    const names = Object.keys(benches);
    const bench = name === undefined ? undefined : benches[name];
    if (!bench) {
      const list = names.map((n) => `  ${n.padEnd(10)} ${benches[n]?.summary ?? ''}`).join('\n');
      throw new ModelwatchError('BAD_REQUEST', `usage: modelwatch bench <name> [options]; benchmarks:\n${list}`);
    }
    await bench.run(rest);
    return 0;
  },
};
