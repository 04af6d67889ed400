export { loadConfig } from './config.js';
export type {
  Config,
  KafkaConfig,
  ClickHouseConfig,
  TopicsConfig,
  IngestConfig,
  ApiConfig,
  DriftLimitsConfig,
} from './config.js';
