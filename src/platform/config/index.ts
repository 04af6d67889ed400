export {
  AUDIT_RETENTION_FLOOR_MS,
  applyEngineAllocatorDefaults,
  ENGINE_MALLOC_CONF,
  environmentWith,
  loadConfig,
} from './config.js';
export type {
  Config,
  KafkaConfig,
  ClickHouseConfig,
  TopicsConfig,
  IngestConfig,
  ApiConfig,
  DriftLimitsConfig,
  RetentionConfig,
  RateLimitConfig,
  AuditConfig,
} from './config.js';
