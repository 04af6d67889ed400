export { AUDIT_RETENTION_FLOOR_MS, environmentWith, loadConfig } from './config.js';
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
export { MAX_PROXY_HOPS, type TrustProxy } from './trust-proxy.js';
export { SERVICE_NODE_FLAGS } from './node-flags.js';
