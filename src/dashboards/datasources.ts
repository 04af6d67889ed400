import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common';

// The uids provisioned in deploy/grafana/provisioning/datasources/datasources.yml; a dashboard
// that names another uid shows "datasource not found" in every panel.
export const PROMETHEUS: DataSourceRef = { type: 'prometheus', uid: 'prometheus' };
export const CLICKHOUSE: DataSourceRef = { type: 'grafana-clickhouse-datasource', uid: 'clickhouse' };
