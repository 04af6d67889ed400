import type { CapabilityDefinition } from '../platform/capability/index.js';

/** Grafana dashboards as code (SPEC 2, 10): a CLI command only; nothing runs in the service. */
export const dashboards: CapabilityDefinition = {
  name: 'dashboards',
  commands: {
    dashboards: {
      summary: 'write the Grafana dashboards as JSON: dashboards [--out DIR] (default dashboards/)',
      load: async () => (await import('./command.js')).dashboardsCommand,
    },
  },
  create: () => ({}),
};
