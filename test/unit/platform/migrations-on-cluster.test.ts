import { describe, expect, it } from 'vitest';
import { ddlContext } from '../../../src/platform/clickhouse/migrations.js';
import { allMigrations } from '../../support/migrations.js';

/** Every DDL statement of every migration, rendered for a cluster named `c`. */
function clusterStatements(): { version: number; sql: string }[] {
  const ctx = ddlContext('c');
  return allMigrations.flatMap((m) =>
    m.statements(ctx).flatMap((s) => {
      const sql = typeof s === 'string' ? s : s.query;
      return [{ version: m.version, sql: sql.replace(/\s+/g, ' ').trim() }];
    }),
  );
}

describe('migrations on a cluster', () => {
  it('run every CREATE, ALTER, DROP, RENAME and EXCHANGE on the whole cluster, with replicated engines', () => {
    const ddl = clusterStatements().filter(({ sql }) => /^(CREATE|ALTER|DROP|RENAME|EXCHANGE)\b/i.test(sql));
    expect(ddl.length).toBeGreaterThan(20);
    const local = ddl
      .filter(({ sql }) => !/ ON CLUSTER c\b/.test(sql))
      .map(({ version, sql }) => `${version}: ${sql.slice(0, 80)}`);
    expect(local).toEqual([]);
    const unreplicated = ddl
      .filter(({ sql }) => /^CREATE TABLE/i.test(sql) && /ENGINE = (?!Replicated)\w*MergeTree/.test(sql))
      .map(({ version, sql }) => `${version}: ${sql.slice(0, 80)}`);
    expect(unreplicated).toEqual([]);
  });
});
