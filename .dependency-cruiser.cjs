/**
 * Layer rules (`npm run lint`). Capabilities are the folders under src/ other than platform,
 * api, service and cli; platform is the layer everything stands on.
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle; break it by moving the shared piece down a layer.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'platform-imports-no-capability',
      severity: 'error',
      comment:
        'The platform (config, kafka, clickhouse, …) is what capabilities stand on; it knows none of them.',
      from: { path: '^src/platform/' },
      to: { path: '^src/', pathNot: '^src/platform/' },
    },
    {
      name: 'capabilities-meet-through-index',
      severity: 'error',
      comment:
        "A folder under src/ uses another one only through that folder's index.ts. One exception: the CLI's standalone commands (src/cli/standalone.ts) load a command module itself, since a capability's index loads the whole service (tested to be the very command the capability lists).",
      from: { path: '^src/([^/]+)/', pathNot: '^src/cli/standalone\\.ts$' },
      to: { path: '^src/[^/]+/', pathNot: ['^src/$1/', '^src/[^/]+/index\\.ts$', '^src/platform/'] },
    },
    {
      name: 'platform-areas-through-index',
      severity: 'error',
      comment: 'A platform area (src/platform/<area>/) is used from elsewhere only through its index.ts.',
      from: { path: '^src/', pathNot: '^src/platform/' },
      to: { path: '^src/platform/[^/]+/', pathNot: '^src/platform/[^/]+/index\\.ts$' },
    },
    {
      name: 'platform-areas-meet-through-index',
      severity: 'error',
      comment: 'Inside the platform, one area uses another only through its index.ts.',
      from: { path: '^src/platform/([^/]+)/' },
      to: { path: '^src/platform/[^/]+/', pathNot: ['^src/platform/$1/', '^src/platform/[^/]+/index\\.ts$'] },
    },
    {
      name: 'nothing-imports-the-cli',
      severity: 'error',
      comment:
        'The CLI is the top: commands and benchmarks a capability offers are declared as lazy entries.',
      from: { pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'only-the-cli-imports-the-service',
      severity: 'error',
      comment: 'The composition root builds every capability; a capability importing it would import itself.',
      from: { path: '^src/', pathNot: '^src/(cli|service)/' },
      to: { path: '^src/service/' },
    },
    {
      name: 'no-static-import-of-cli-code',
      severity: 'error',
      comment:
        "A capability's commands and benchmarks (files named *command.ts, *bench.ts) are loaded with import() when they run, never by the service.",
      from: { path: '^src/', pathNot: ['^src/cli/', 'command\\.ts$', 'bench\\.ts$'] },
      to: { path: ['command\\.ts$', 'bench\\.ts$'], pathNot: '^src/platform/', dynamic: false },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
