/** Audit trail (SPEC 8): one record shape, hash chains in `audit_events`, verification, digests, compliance exports. */
export { audit, type AuditCapability } from './capability.js';
export { AuditLog, type AuditLogOptions, type AuditRecorder } from './audit-log.js';
export {
  chainName,
  createAuditConsumer,
  decodeAuditMessage,
  type DecodedAuditMessage,
  type AuditConsumer,
  type AuditConsumerOptions,
  type AuditItem,
} from './consumer.js';
export {
  CHANGE_ACTIONS,
  HTTP_METHODS,
  MAX_FUTURE_MS,
  MAX_ID_LENGTH,
  auditRecordSchema,
  parseAuditRecord,
} from './record.js';
export type {
  AuditKind,
  AuditOutcome,
  AuditRecord,
  AuditRecordInput,
  ChangeAction,
  ParseOptions,
} from './record.js';
export {
  accessRecord,
  apiCallRecord,
  apiOutcome,
  changeRecord,
  type AccessLogEvent,
  type ApiCall,
  type StateChange,
} from './record-builders.js';
export {
  GENESIS_HASH,
  canonicalJson,
  chainHash,
  linkRecords,
  type ChainHead,
  type ChainLink,
} from './chain.js';
export { auditMigrations } from './schema.js';
export {
  AUDIT_TABLE,
  DEFAULT_PAGE_POSITIONS,
  listChains,
  readHead,
  readHeads,
  positionRanges,
  streamChain,
  type StoredHead,
  type StoredRow,
} from './store.js';
export {
  ChainWriter,
  type AppendEntry,
  type AppendOptions,
  type AppendResult,
  type ChainWriterOptions,
} from './chain-writer.js';
export {
  ChainVerifier,
  checkDigestEntry,
  columnsMatch,
  type BreakReason,
  type BrokenLink,
  type ChainAnchor,
  type DigestEntry,
  type LinkRow,
  type VerifierOptions,
} from './verify.js';
export { COLUMNS_MATCH_SQL, streamLinks, unescapeTsv } from './link-reader.js';
export { verifyStore, type VerifyOptions, type VerifyReport } from './verify-store.js';
export { createAuditVerifier, type AuditVerifier, type AuditVerifierOptions } from './verify-metrics.js';
export { MAX_DIGEST_ENTRIES, parseDigest, takeDigest } from './digest.js';
export { SQL_CHECK, runSqlCheck, type SqlCheckFinding } from './sql-check.js';
export {
  DEFAULT_QUERY_PAGE,
  auditQuerySchema,
  parseAuditQuery,
  queryAuditEvents,
  type AuditEventRow,
  type AuditQuery,
} from './query.js';
export {
  CSV_COLUMNS,
  EXPORT_CONTENT_TYPES,
  EXPORT_FORMATS,
  auditExportStream,
  csvCell,
  exportObject,
  formatAuditExport,
  type ExportFormat,
} from './export-format.js';
export { CSV_PAGE_ROWS, engineCsvExport } from './csv-export.js';
export { DigestPublisher, type DigestPublisherOptions } from './digest-publisher.js';
export { readDigestTopic } from './digest-topic.js';
export { auditRoutes, type AuditRoutesDeps } from './routes.js';
export { AuditError, isAuditError, type AuditErrorCode } from './errors.js';
export {
  MAX_PROVENANCE_ACCESSES,
  PREDICTIONS_BY_ID_SQL,
  PROVENANCE_ROUTE,
  readProvenance,
  type Provenance,
  type ProvenanceAccess,
  type ProvenancePrediction,
} from './provenance.js';
export { ANCHORS_TABLE, readAnchors, type StoredAnchor } from './anchors.js';
export {
  ANCHOR_RECORD_SQL_CHECK,
  checkAnchorRecords,
  readAnchorRecords,
  runAnchorRecordSqlCheck,
  type AnchorRecord,
} from './anchor-records.js';
export { LegalHolds, type LegalHold } from './legal-holds.js';
export { RetentionJob, type ChainTrim, type RetentionPolicy, type RetentionReport } from './retention.js';
