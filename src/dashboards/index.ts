export { dashboards } from './capability.js';
export { CLICKHOUSE, PROMETHEUS } from './datasources.js';
export { ClickHouseQueryBuilder, type ClickHouseQuery } from './clickhouse-query.js';
export { DASHBOARDS, renderDashboard, type DashboardDefinition } from './render.js';
export { writeDashboards, type WrittenDashboard } from './write.js';
export { INGEST_UID } from './ingest.js';
export { MODELS_UID, HOURLY_PREDICTIONS_SQL, HOURLY_ERROR_RATE_SQL, RETRAIN_TRIGGERS_SQL } from './models.js';
export { DRIFT_UID, DRIFT_TRIGGERS_SQL } from './drift.js';
export { SEGMENTS_LATEST_SQL, SEGMENT_DRIFT_SHARE_SQL } from './drift-segments.js';
export {
  GOVERNANCE_UID,
  AUDIT_ACTIVITY_SQL,
  DENIED_PER_HOUR_SQL,
  DENIED_RECORDS_SQL,
  PRINCIPALS_SQL,
} from './governance.js';
