/**
 * Periodic verification of every stored chain against this instance's published digests, so a
 * broken chain pages an operator (deploy/prometheus/alerts.yml) instead of waiting for an auditor
 * to ask. The verify route reports through the same gauges.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Database } from '../platform/clickhouse/index.js';
import { errorMessage } from '../platform/errors.js';
import type { Logger } from '../platform/observability/index.js';
import { AbortableLoop } from './abortable-loop.js';
import type { DigestEntry } from './verify.js';
import { verifyStore, type VerifyReport } from './verify-store.js';

export interface AuditVerifierOptions {
  db: Database;
  registry: Registry;
  logger: Logger;
  /** Held digest entries the chains must still match. */
  digests: () => readonly DigestEntry[];
  /** Pause between full verifications. @default 3600000 */
  intervalMs?: number;
  /** Each chain's source end, for the head offset check (VerifyOptions.sourceEnds). */
  sourceEnds?: () => Promise<ReadonlyMap<string, number>>;
}

export interface AuditVerifier {
  /** Verifies now (queued behind a run in progress) and updates the gauges. */
  runOnce(): Promise<VerifyReport>;
  /** Updates the gauges from a report made elsewhere (the verify route). */
  record(report: VerifyReport): void;
  start(): void;
  /** Stops the loop; a verification in progress ends at its next row (its result is dropped). */
  stop(): Promise<void>;
}

export function createAuditVerifier(options: AuditVerifierOptions): AuditVerifier {
  const verified = new Gauge({
    name: 'modelwatch_audit_chains_verified',
    help: '1 when the last verification found every audit chain intact (and matching the published digests), 0 when one is broken; absent until the first verification',
    registers: [options.registry],
  });
  const broken = new Gauge({
    name: 'modelwatch_audit_chains_broken',
    help: 'Audit chains broken at the last verification',
    registers: [options.registry],
  });
  const lastRun = new Gauge({
    name: 'modelwatch_audit_last_verification_seconds',
    help: 'When the audit chains were last verified (Unix seconds; absent until the first verification): alert when it falls behind',
    registers: [options.registry],
  });
  const failures = new Counter({
    name: 'modelwatch_audit_verification_errors_total',
    help: 'Verifications that could not run (ClickHouse unreachable); the gauges keep the last result',
    registers: [options.registry],
  });
  // No series until the first verification: "verified" over a chain not yet checked (a restart on a
  // broken one) would be a false all-clear, and an unset gauge reads 0 (1970 as the last run).
  for (const gauge of [verified, broken, lastRun]) gauge.remove();

  function record(report: VerifyReport): void {
    verified.set(report.ok ? 1 : 0);
    broken.set(report.broken.length);
    lastRun.set(Date.now() / 1000);
  }

  const loop = new AbortableLoop(
    async (signal) => {
      const report = await verifyStore(options.db, {
        digest: options.digests(),
        sourceEnds: options.sourceEnds,
        signal,
      });
      record(report);
      if (!report.ok)
        options.logger.error({ first_broken: report.first_broken }, 'audit chain verification failed');
      return report;
    },
    {
      intervalMs: options.intervalMs ?? 3_600_000,
      onError: (err) => {
        failures.inc();
        options.logger.warn({ err: errorMessage(err) }, 'audit chains could not be verified; retrying');
      },
    },
  );
  return {
    runOnce: () => loop.runOnce(),
    record,
    start: () => loop.start(),
    stop: () => loop.stop(),
  };
}
