import { RowBuilder, type DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { MappingType, type Threshold, type ValueMapping } from '@grafana/grafana-foundation-sdk/dashboard';
import { baseDashboard } from './base.js';
import { ClickHouseQueryBuilder } from './clickhouse-query.js';
import { prom, stat, sqlTable, timeseries } from './panels.js';

export const GOVERNANCE_UID = 'modelwatch-governance';

/**
 * Audit records (src/audit) per hour by principal and action. FINAL: a retried chain insert is a
 * duplicate row until merges run. Grafana pivots the (time, series, value) rows into one series
 * per principal and action.
 */
export const AUDIT_ACTIVITY_SQL = [
  "SELECT toStartOfHour(at) AS time, concat(principal, ' ', action) AS series, count() AS records",
  'FROM audit_events FINAL',
  'WHERE $__timeFilter(at)',
  'GROUP BY time, series',
  'ORDER BY time, series',
].join('\n');

export const DENIED_PER_HOUR_SQL = [
  'SELECT toStartOfHour(at) AS time, principal, count() AS denied',
  'FROM audit_events FINAL',
  "WHERE outcome = 'denied' AND $__timeFilter(at)",
  'GROUP BY time, principal',
  'ORDER BY time, principal',
].join('\n');

export const PRINCIPALS_SQL = [
  'SELECT principal, action, count() AS records, countIf(outcome = ' +
    "'denied') AS denied, countIf(outcome = 'failed') AS failed, max(at) AS last_seen",
  'FROM audit_events FINAL',
  'WHERE $__timeFilter(at)',
  'GROUP BY principal, action',
  'ORDER BY records DESC, principal, action',
  'LIMIT 200',
].join('\n');

export const DENIED_RECORDS_SQL = [
  'SELECT at, principal, action, resource_type, resource_id, model_id, entity_id, kind',
  'FROM audit_events FINAL',
  "WHERE outcome = 'denied' AND $__timeFilter(at)",
  'ORDER BY at DESC',
  'LIMIT 200',
].join('\n');

const VERIFIED_MAPPINGS: ValueMapping[] = [
  {
    type: MappingType.ValueToText,
    options: {
      '0': { text: 'BROKEN', color: 'red', index: 0 },
      '1': { text: 'verified', color: 'green', index: 1 },
    },
  },
];

/** Green at 0, red from the first broken chain. */
const BROKEN_THRESHOLDS: Threshold[] = [
  { value: null, color: 'green' },
  { value: 1, color: 'red' },
];

/** Red where ModelwatchAuditVerificationStale fires: 3 hours, three default verification intervals. */
const VERIFICATION_AGE_THRESHOLDS: Threshold[] = [
  { value: null, color: 'green' },
  { value: 3 * 3600, color: 'red' },
];

/** The verification gauges have no series until an instance's first verification completes. */
const NOT_YET_VERIFIED = 'not yet verified';

/** Who did what (SPEC 8): audit activity, denied access, and whether the hash chains verify. */
export function governanceDashboard(): DashboardBuilder {
  return baseDashboard(
    GOVERNANCE_UID,
    'modelwatch / governance',
    'The audit trail: activity by principal and action, denied access, and the result of the periodic hash-chain verification.',
  )
    .time({ from: 'now-7d', to: 'now' })
    .withRow(new RowBuilder('Verification'))
    .withPanel(
      stat(
        {
          title: 'Audit chains',
          description:
            'Result of the last verification of every audit hash chain (hourly, and on GET /audit/verify): BROKEN means a record was changed, removed or inserted. Run `modelwatch audit verify` for the chain and position.',
          unit: 'none',
          width: 8,
          height: 5,
        },
        [prom('min(modelwatch_audit_chains_verified)', 'verified').instant()],
        VERIFIED_MAPPINGS,
      ).noValue(NOT_YET_VERIFIED),
    )
    .withPanel(
      stat(
        {
          title: 'Broken chains',
          description: 'Chains broken at the last verification (0 when all verify).',
          unit: 'none',
          width: 8,
          height: 5,
        },
        [prom('max(modelwatch_audit_chains_broken)', 'broken').instant()],
        [],
        BROKEN_THRESHOLDS,
      ).noValue(NOT_YET_VERIFIED),
    )
    .withPanel(
      stat(
        {
          title: 'Since the last verification',
          description: 'Time since the audit chains were last verified (every MODELWATCH_AUDIT_VERIFY_INTERVAL, default 1h).',
          unit: 's',
          width: 8,
          height: 5,
        },
        [prom('time() - max(modelwatch_audit_last_verification_seconds)', 'age').instant()],
        [],
        VERIFICATION_AGE_THRESHOLDS,
      ).noValue(NOT_YET_VERIFIED),
    )
    .withRow(new RowBuilder('Activity (ClickHouse audit_events)'))
    .withPanel(
      timeseries(
        {
          title: 'Audit records per hour by principal and action',
          description: 'API calls, state changes and data access records per hour, by principal and action.',
          unit: 'short',
          width: 24,
        },
        [new ClickHouseQueryBuilder(AUDIT_ACTIVITY_SQL)],
        { bars: true, min: 0, displayName: '${__field.labels.series}' },
      ),
    )
    .withPanel(
      sqlTable(
        {
          title: 'Principals and actions',
          description: 'Records per principal and action in the time range, with how many were denied or failed.',
          unit: 'none',
          width: 24,
        },
        new ClickHouseQueryBuilder(PRINCIPALS_SQL, 'table'),
      ),
    )
    .withRow(new RowBuilder('Denied access'))
    .withPanel(
      timeseries(
        {
          title: 'Denied access per hour by principal',
          description: 'Access-log and API records with outcome denied, per hour and principal.',
          unit: 'short',
        },
        [new ClickHouseQueryBuilder(DENIED_PER_HOUR_SQL)],
        { bars: true, min: 0, displayName: '${__field.labels.principal}' },
      ),
    )
    .withPanel(
      sqlTable(
        {
          title: 'Latest denied records',
          description: 'The 200 most recent denied records in the time range.',
          unit: 'none',
        },
        new ClickHouseQueryBuilder(DENIED_RECORDS_SQL, 'table'),
      ),
    );
}
