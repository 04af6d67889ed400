import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SERVICE_NODE_FLAGS } from '../../../src/platform/config/index.js';

/** Every way the service is started passes Node the same V8 flags, and V8 takes them. */
describe('the service’s Node flags', () => {
  const flags = SERVICE_NODE_FLAGS.join(' ');

  it('are passed by npm start and npm run serve', () => {
    const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> })
      .scripts;
    expect(scripts['start']).toContain(`node ${flags} dist/cli/main.js up`);
    expect(scripts['serve']).toContain(`node ${flags} dist/cli/main.js serve`);
  });

  it("are the image's entrypoint and the bin's shebang", () => {
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(readFileSync('Dockerfile', 'utf8'))?.[1];
    expect(JSON.parse(entrypoint ?? 'null')).toEqual(['node', ...SERVICE_NODE_FLAGS, 'dist/cli/main.js']);
    const shebang = readFileSync('src/cli/main.ts', 'utf8').split('\n')[0];
    expect(shebang).toBe(`#!/usr/bin/env -S node ${flags}`);
  });

  it('bound the young generation to ~2 × 16 MB under steady allocation', () => {
    // Without the flag this machine's V8 grows the new space to 128 MB on the same loop.
    const script = `
      let keep = [];
      for (let i = 0; i < 5e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 2e5) keep = []; }
      const space = require('v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
      process.stdout.write(String(space.space_size));`;
    const newSpace = Number(execFileSync(process.execPath, [...SERVICE_NODE_FLAGS, '-e', script]));
    expect(newSpace).toBeGreaterThan(0);
    // Two 16 MB semi-spaces, plus a page or so of V8's own (seen: 32 MB + 256 KiB).
    expect(newSpace).toBeLessThanOrEqual(34 * 1024 * 1024);
  });
});
