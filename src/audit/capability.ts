import type { CapabilityDefinition } from '../platform/capability/index.js';
import { auditMigrations } from './schema.js';

/**
 * The audit trail (SPEC 8): the `audit_events` table and `modelwatch audit verify`. Recording
 * (access log, API calls, state changes through a Kafka topic, one chain per partition), digests
 * and the routes are the next step (see README.md).
 */
export const audit: CapabilityDefinition = {
  name: 'audit',
  migrations: auditMigrations,
  commands: {
    audit: {
      summary: 'verify the audit hash chains: audit verify [--digest FILE]',
      load: async () => (await import('./verify-command.js')).auditCommand,
    },
  },
  create: () => ({}),
};
