import type { FastifyPluginAsync } from 'fastify';
import type { Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { Bench, Command } from '../cli/index.js';
import type { Database, Migration } from '../clickhouse/index.js';
import type { Config } from '../config/index.js';
import type { Kafka } from '../kafka/index.js';
import type { Logger } from '../observability/index.js';

/** What the composition root hands every capability: the platform, nothing capability-specific. */
export interface Platform {
  config: Config;
  logger: Logger;
  db: Database;
  kafka: Kafka;
  /** Shared producer (dead letters, outbound events); connected before any `start`. */
  producer: Producer;
  /** Every Prometheus metric registers here (no global registry). */
  registry: Registry;
}

/** A capability as the running service sees it; every part optional. */
export interface Capability {
  /** Route plugin mounted under /api/v1. */
  routes?: FastifyPluginAsync;
  /**
   * Starts background work (consumers, loops) once ClickHouse is migrated and Kafka reachable.
   * A start that throws is retried with backoff, logged as one line, until `signal` aborts.
   */
  start?(signal: AbortSignal): Promise<void> | void;
  /** Stops background work: called in reverse list order, after the HTTP server closed. */
  stop?(): Promise<void>;
  /** Named readiness checks, all true when ready (`/readyz` shows each). */
  ready?(): Record<string, boolean>;
}

/** A CLI command or benchmark, loaded only when it runs: the service never loads their code. */
export interface Entry<T> {
  summary: string;
  load(): Promise<T>;
}

/** Builds (once) another capability this one needs; order in the list does not matter. */
export type Use = <U extends Capability>(definition: CapabilityDefinition<U>) => U;

/**
 * One capability: a folder under `src/` whose `index.ts` exports this, and one line in the
 * composition root's list. Migrations and CLI entries are static, so `migrate` and `--help`
 * need no running service.
 */
export interface CapabilityDefinition<T extends Capability = Capability> {
  name: string;
  /** Its tables; versions are global across capabilities and never renumbered. */
  migrations?: readonly Migration[];
  commands?: Readonly<Record<string, Entry<Command>>>;
  benches?: Readonly<Record<string, Entry<Bench>>>;
  create(platform: Platform, use: Use): T;
}
