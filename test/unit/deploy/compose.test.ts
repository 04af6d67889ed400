import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * The compose stack as a user runs it (no Docker engine here to start it): what each image's
 * documentation requires for data to survive a recreate, secrets kept out of the file, and
 * nothing published beyond the host unless asked.
 */
const compose = readFileSync('docker-compose.yml', 'utf8');
const dockerfile = readFileSync('Dockerfile', 'utf8');

/** The indented block of one service. */
function service(name: string): string {
  const m = new RegExp(`\\n  ${name}:\\n((?:    .*\\n|\\s*\\n)+)`).exec(compose);
  if (!m) throw new Error(`no service ${name}`);
  return m[1]!;
}

const volumesOf = (block: string) =>
  [...block.matchAll(/(?:- |\[)(\w[\w-]*):(\/[^\s,\]:]+)/g)].map((m) => [m[1], m[2]]);

describe('docker-compose.yml', () => {
  it('keeps Kafka, ClickHouse, Prometheus and Grafana data in named volumes', () => {
    const kafka = service('kafka');
    const logDirs = /KAFKA_LOG_DIRS: (\S+)/.exec(kafka)?.[1];
    expect(logDirs).toBe('/var/lib/kafka/data');
    expect(volumesOf(kafka)).toContainEqual(['kafka-data', logDirs]);
    expect(kafka).toMatch(/CLUSTER_ID: \S+/);
    expect(volumesOf(service('clickhouse'))).toContainEqual(['clickhouse-data', '/var/lib/clickhouse']);
    expect(volumesOf(service('prometheus'))).toContainEqual(['prometheus-data', '/prometheus']);
    expect(volumesOf(service('grafana'))).toContainEqual(['grafana-data', '/var/lib/grafana']);
    const declared = /\nvolumes:\n((?: {2}.*\n?)+)/.exec(compose)![1]!;
    for (const v of ['kafka-data', 'clickhouse-data', 'prometheus-data', 'grafana-data'])
      expect(declared).toContain(`  ${v}:`);
  });

  it('publishes every port on 127.0.0.1 unless BIND_ADDRESS says otherwise', () => {
    const ports = [...compose.matchAll(/ports: \[([^\]]*)\]/g)].map((m) => m[1]!);
    expect(ports).toHaveLength(5);
    for (const p of ports) expect(p).toMatch(/^'\$\{BIND_ADDRESS:-127\.0\.0\.1\}:\d+:\d+'$/);
  });

  it('takes secrets from .env, never a fixed password, and the .env stays out of git and the image', () => {
    expect(compose).not.toMatch(/PASSWORD: (?!\$\{)\S+/);
    expect(compose).not.toContain('modelwatch:modelwatch@');
    expect(compose).toContain('MODELWATCH_ADMIN_KEY: ${MODELWATCH_ADMIN_KEY:?');
    expect(compose).toContain("GF_AUTH_ANONYMOUS_ENABLED: 'false'");
    expect(readFileSync('.gitignore', 'utf8').split('\n')).toContain('.env');
    expect(readFileSync('.dockerignore', 'utf8').split('\n')).toContain('.env');
    expect(readFileSync('deploy/grafana/provisioning/datasources/datasources.yml', 'utf8')).toContain(
      'password: $CLICKHOUSE_GRAFANA_PASSWORD',
    );
  });

  it('pins the Grafana ClickHouse plugin with the non-deprecated variable', () => {
    expect(compose).not.toMatch(/^\s+GF_INSTALL_PLUGINS:/m);
    expect(compose).toMatch(/GF_PLUGINS_PREINSTALL_SYNC: grafana-clickhouse-datasource@\d+\.\d+\.\d+\n/);
  });

  it('loads the alert rules into Prometheus', () => {
    expect(service('prometheus')).toContain('./deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro');
    expect(readFileSync('deploy/prometheus/prometheus.yml', 'utf8')).toMatch(/rule_files: \[alerts\.yml\]/);
  });

  it('health-checks the port the service listens on', () => {
    const check = /HEALTHCHECK .*/.exec(dockerfile)![0];
    expect(check).toContain('process.env.MODELWATCH_API_PORT');
    expect(check).not.toContain(':8080/');
  });
});
