import type { Builder, Dataquery } from '@grafana/grafana-foundation-sdk/cog';
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common';
import { CLICKHOUSE } from './datasources.js';

/**
 * A raw-SQL query of the `grafana-clickhouse-datasource` plugin (v4 query model). The SDK ships
 * no type for this plugin, so this is its custom-query extension point.
 */
export interface ClickHouseQuery extends Dataquery {
  refId?: string;
  datasource: DataSourceRef;
  editorType: 'sql';
  /** The editor's "Query type"; `format` is what the plugin's backend (sqlds) acts on. */
  queryType: 'timeSeries' | 'table';
  /** sqlds FormatQueryOption: 0 = time series (long frames are pivoted to wide), 1 = table. */
  format: 0 | 1;
  /** Without a 4.x version the plugin treats the query as v3 and migrates it on load. */
  pluginVersion: string;
  rawSql: string;
}

const FORMATS = { timeSeries: 0, table: 1 } as const;

export class ClickHouseQueryBuilder implements Builder<Dataquery> {
  private readonly internal: ClickHouseQuery;

  constructor(rawSql: string, queryType: 'timeSeries' | 'table' = 'timeSeries') {
    this.internal = {
      datasource: CLICKHOUSE,
      editorType: 'sql',
      queryType,
      format: FORMATS[queryType],
      pluginVersion: '4.0.0',
      rawSql,
      _implementsDataqueryVariant() {},
    };
  }

  refId(refId: string): this {
    this.internal.refId = refId;
    return this;
  }

  build(): ClickHouseQuery {
    return this.internal;
  }
}
