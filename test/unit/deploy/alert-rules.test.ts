import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { exposedMetrics } from '../../support/exposed-metrics.js';

/**
 * The alert rules shipped in deploy/prometheus/ (loaded by the compose stack's Prometheus):
 * promtool validates them and runs their unit tests (alerts.test.yml). promtool comes with
 * Debian's `prometheus` package, which .ci/run installs; without it these checks are skipped.
 */
const DIR = path.resolve(import.meta.dirname, '../../../deploy/prometheus');
const promtoolMissing = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status !== 0;
if (promtoolMissing)
  console.warn('promtool is not installed (apt-get install prometheus): the alert rule checks are skipped');

function promtool(...args: string[]): { status: number | null; output: string } {
  const run = spawnSync('promtool', args, { cwd: DIR, encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

const rules = readFileSync(path.join(DIR, 'alerts.yml'), 'utf8');

describe('alert rules', () => {
  it('name only metrics the service exports, or series the rule file records', async () => {
    const exposed = await exposedMetrics();
    const named = new Set([...rules.matchAll(/\bmodelwatch_[a-z0-9_]+/g)].map((m) => m[0]));
    expect(named.size).toBeGreaterThan(8);
    for (const name of named) expect(exposed, name).toContain(name);
    const recorded = new Set([...rules.matchAll(/- record: (\S+)/g)].map((m) => m[1]!));
    for (const m of rules.matchAll(/\bmodelwatch:[a-z0-9_:]+/g)) expect(recorded, m[0]).toContain(m[0]);
  });

  it('page for what the operators asked for', () => {
    const alerts = [...rules.matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
    expect(alerts).toEqual([
      'ModelwatchDown',
      'ModelwatchConsumerLagGrowing',
      'ModelwatchDeadLetters',
      'ModelwatchClickHouseInsertErrors',
      'ModelwatchNoPredictions',
      'ModelwatchDatasetDrift',
      'ModelwatchDriftEvaluationFailing',
      'ModelwatchDriftStale',
      'ModelwatchQualityBelowFloor',
      'ModelwatchAuditChainBroken',
      'ModelwatchAuditChainHeld',
      'ModelwatchAuditRecordsLost',
      'ModelwatchAuditVerificationStale',
    ]);
    const tested = new Set(
      [...readFileSync(path.join(DIR, 'alerts.test.yml'), 'utf8').matchAll(/alertname: (\w+)/g)].map(
        (m) => m[1],
      ),
    );
    for (const alert of alerts) expect(tested, `${alert} has a promtool unit test`).toContain(alert);
  });

  it.skipIf(promtoolMissing)('pass promtool check rules and check config', () => {
    const rulesCheck = promtool('check', 'rules', 'alerts.yml');
    expect(rulesCheck.output).toContain('SUCCESS: 17 rules found');
    expect(rulesCheck.status, rulesCheck.output).toBe(0);
    const configCheck = promtool('check', 'config', 'prometheus.yml');
    expect(configCheck.status, configCheck.output).toBe(0);
    expect(configCheck.output).toContain('SUCCESS: 17 rules found');
  });

  it.skipIf(promtoolMissing)('pass their promtool unit tests (alerts.test.yml)', () => {
    const run = promtool('test', 'rules', 'alerts.test.yml');
    expect(run.status, run.output).toBe(0);
    expect(run.output).toContain('SUCCESS');
  });
});
