export { collectors } from './capability.js';
export { createCollectors, type CollectorsDeps } from './collectors.js';
export { createCollectorSink, type Decoded } from './collector-sink.js';
export { createIngestMetrics, type IngestMetrics } from './ingest-metrics.js';
export {
  predictionEvent,
  labelEvent,
  accessLogEvent,
  eventTimeMs,
  type PredictionEvent,
  type LabelEvent,
  type AccessLogEvent,
} from './events.js';
