import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cruise, type IConfiguration } from 'dependency-cruiser';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../../..');
const config = createRequire(import.meta.url)(path.join(root, '.dependency-cruiser.cjs')) as IConfiguration;

/** Cruises `src` below `dir` with the project's rules; returns the names of the rules broken. */
async function brokenRules(dir: string): Promise<string[]> {
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    const result = await cruise(['src'], {
      ...config.options,
      validate: true,
      ruleSet: { forbidden: config.forbidden },
    });
    if (typeof result.output === 'string') throw new Error(result.output);
    return [...new Set(result.output.summary.violations.map((v) => v.rule.name))].sort();
  } finally {
    process.chdir(cwd);
  }
}

const scratch: string[] = [];
afterAll(() => scratch.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A small tree of TypeScript files, each given as its imports. */
function tree(files: Record<string, string[]>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'modelwatch-layers-'));
  scratch.push(dir);
  writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', strict: true } }),
  );
  for (const [file, imports] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    const lines = imports.map((spec, i) =>
      spec.startsWith('dynamic:')
        ? `export const l${i} = () => import('${spec.slice(8)}');`
        : `import '${spec}';`,
    );
    writeFileSync(path.join(dir, file), `${lines.join('\n')}\nexport const x = 1;\n`);
  }
  return dir;
}

describe('layer rules (npm run lint)', () => {
  it('hold on the project as it is', async () => {
    expect(await brokenRules(root)).toEqual([]);
  }, 60_000);

  it('catch an import cycle', async () => {
    const dir = tree({ 'src/a/index.ts': ['./x.js'], 'src/a/x.ts': ['./index.js'] });
    expect(await brokenRules(dir)).toEqual(['no-circular']);
  });

  it('catch the platform importing a capability, and a capability reaching past index.ts', async () => {
    const dir = tree({
      'src/platform/kafka/index.ts': ['../../drift/index.js'],
      'src/drift/index.ts': ['./engine.js'],
      'src/drift/engine.ts': [],
      'src/metrics/index.ts': ['../drift/engine.js'],
    });
    expect(await brokenRules(dir)).toEqual([
      'capabilities-meet-through-index',
      'platform-imports-no-capability',
    ]);
  });

  it('catch imports of the CLI and the composition root, and a static import of a bench', async () => {
    const dir = tree({
      'src/cli/main.ts': ['../service/index.js'],
      'src/service/index.ts': ['../drift/index.js'],
      'src/drift/index.ts': ['../cli/main.js', 'dynamic:./bench.js'],
      'src/drift/bench.ts': [],
      'src/metrics/index.ts': ['../service/index.js', '../drift/index.js'],
      'src/metrics/routes.ts': ['./bench.js'],
      'src/metrics/bench.ts': [],
    });
    expect(await brokenRules(dir)).toEqual([
      'capabilities-meet-through-index', // src/drift → src/cli/main.ts, not an index.ts
      'no-circular',
      'no-static-import-of-cli-code',
      'nothing-imports-the-cli',
      'only-the-cli-imports-the-service',
    ]);
  });
});
