import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dashboardTargets } from '../../support/dashboards.js';

/**
 * Grafana reaches ClickHouse as its own read-only user, never as the service's (which writes
 * predictions, labels and audit rows, and manages users): the ClickHouse plugin runs whatever SQL
 * a dashboard editor or an /api/ds/query caller sends. No Docker engine here to start the stack,
 * so these are the files' invariants (README "Docker").
 */
const compose = readFileSync('docker-compose.yml', 'utf8');
const datasources = readFileSync('deploy/grafana/provisioning/datasources/datasources.yml', 'utf8');

function service(name: string): string {
  const m = new RegExp(`\\n  ${name}:\\n((?:    .*\\n|\\s*\\n)+)`).exec(compose);
  if (!m) throw new Error(`no service ${name}`);
  return m[1]!;
}

/** The ClickHouse data source's block of datasources.yml. */
const clickhouseSource = datasources.slice(datasources.indexOf('type: grafana-clickhouse-datasource'));
const grafanaUser = /username: (\S+)/.exec(clickhouseSource)?.[1];
const passwordVariable = /password: \$(\w+)/.exec(clickhouseSource)?.[1];

/** deploy/clickhouse/users.d/<file>, the element `tag`'s first text. */
const usersXml = readFileSync('deploy/clickhouse/users.d/grafana.xml', 'utf8').replace(
  /<!--[\s\S]*?-->/g,
  '',
);
const element = (xml: string, tag: string) =>
  new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml)?.[1] ?? '';

describe('Grafana’s ClickHouse user', () => {
  it('is not the service’s user, and has a password of its own', () => {
    const clickhouse = service('clickhouse');
    const serviceUser = /CLICKHOUSE_USER: (\S+)/.exec(clickhouse)?.[1];
    const urlUser = /MODELWATCH_CLICKHOUSE_URL: http:\/\/([^:]+):/.exec(service('modelwatch'))?.[1];
    expect(serviceUser).toBe('modelwatch');
    expect(urlUser).toBe(serviceUser);
    expect(grafanaUser).toBe('grafana');
    expect(grafanaUser).not.toBe(serviceUser);
    expect(passwordVariable).toBe('CLICKHOUSE_GRAFANA_PASSWORD');
    // Grafana's container never holds the service's password.
    expect(service('grafana')).not.toContain('CLICKHOUSE_PASSWORD:');
    expect(service('grafana')).toContain('CLICKHOUSE_GRAFANA_PASSWORD: ${CLICKHOUSE_GRAFANA_PASSWORD}');
    expect(clickhouse).toContain(
      'CLICKHOUSE_GRAFANA_PASSWORD: ${CLICKHOUSE_GRAFANA_PASSWORD:?set CLICKHOUSE_GRAFANA_PASSWORD in .env',
    );
  });

  it('is defined on the ClickHouse server, read-only, with only max_execution_time changeable', () => {
    const clickhouse = service('clickhouse');
    expect(clickhouse).toContain(
      './deploy/clickhouse/users.d/grafana.xml:/etc/clickhouse-server/users.d/grafana.xml:ro',
    );
    expect(clickhouse).toContain(
      './deploy/clickhouse/config.d/access-control.xml:/etc/clickhouse-server/config.d/access-control.xml:ro',
    );
    const user = element(element(usersXml, 'users'), grafanaUser!);
    expect(user).toContain('<password from_env="CLICKHOUSE_GRAFANA_PASSWORD"/>');
    const profileName = element(user, 'profile');
    const profile = element(element(usersXml, 'profiles'), profileName);
    expect(element(profile, 'readonly')).toBe('1');
    const changeable = [...element(profile, 'constraints').matchAll(/<(\w+)>\s*<changeable_in_readonly\/>/g)];
    expect(changeable.map((m) => m[1])).toEqual(['max_execution_time']);
    // changeable_in_readonly is honoured only with this server setting on (off by default).
    expect(readFileSync('deploy/clickhouse/config.d/access-control.xml', 'utf8')).toMatch(
      /<settings_constraints_replace_previous>true<\/settings_constraints_replace_previous>/,
    );
    expect(user).not.toMatch(/access_management|allow_databases/);
  });

  it('may SELECT exactly the tables the dashboards read, nothing else', () => {
    const grants = [...element(usersXml, 'grants').matchAll(/<query>(.*?)<\/query>/g)].map((m) => m[1]!);
    for (const g of grants) expect(g).toMatch(/^GRANT SELECT ON modelwatch\.\w+$/);
    const granted = grants.map((g) => g.slice(g.indexOf('.') + 1)).sort();
    const read = new Set(
      dashboardTargets()
        .filter((t) => t.datasource === 'clickhouse')
        .flatMap((t) => [...t.rawSql!.matchAll(/\bFROM (\w+)/g)].map((m) => m[1]!)),
    );
    expect(granted).toEqual([...read].sort());
    expect(granted).toEqual(['audit_events', 'predictions', 'retrain_triggers', 'segment_results']);
  });
});
