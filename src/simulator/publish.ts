/** Turns planned events into SPEC 3.2 messages; production's answer comes from the inference core. */
import type { OnnxModel } from '../inference/index.js';
import type { AccessEvent, PlannedLabel, PlannedPrediction } from './plan.js';
import { MODEL_ID } from './plan.js';
import { PRODUCTION } from './setup.js';

export interface OutMessage {
  key: string;
  value: string;
}

/** Where events go: the broker (a kafkajs producer in `up`), or a list in tests. */
export interface EventSink {
  send(topic: string, messages: OutMessage[]): Promise<void>;
}

export interface Topics {
  predictions: string;
  labels: string;
  accessLog: string;
  /** Where the service publishes retrain triggers (MODELWATCH_TOPIC_RETRAIN), as the summary says. */
  retrain: string;
}

/** Scores the batch with the production model; failed requests carry the fallback answer 0 and no score. */
export async function predictionMessages(
  model: OnnxModel,
  batch: readonly PlannedPrediction[],
): Promise<OutMessage[]> {
  if (batch.length === 0) return [];
  const scored = await model.score(batch.map((p) => p.row.features));
  return batch.map((p, i) => {
    const ok = p.status === 'ok' && scored.labels[i] !== null;
    const event = {
      prediction_id: p.predictionId,
      model_id: MODEL_ID,
      model_version: PRODUCTION.version,
      timestamp: new Date(p.timestamp).toISOString(),
      features: p.row.features,
      prediction: ok ? Number(scored.labels[i]) : 0,
      ...(ok ? { score: Math.round((scored.scores[i] ?? 0) * 1e6) / 1e6 } : {}),
      latency_ms: p.latencyMs,
      status: ok ? 'ok' : 'error',
      entity_id: p.entityId,
      request_id: p.requestId,
    };
    return { key: p.predictionId, value: JSON.stringify(event) };
  });
}

export function labelMessages(batch: readonly PlannedLabel[]): OutMessage[] {
  return batch.map((l) => ({
    key: l.predictionId,
    value: JSON.stringify({
      prediction_id: l.predictionId,
      label: l.label,
      timestamp: new Date(l.timestamp).toISOString(),
      model_id: MODEL_ID,
    }),
  }));
}

export function accessMessages(batch: readonly AccessEvent[]): OutMessage[] {
  return batch.map((a) => ({
    key: a.event_id,
    value: JSON.stringify({ ...a, timestamp: new Date(a.timestamp).toISOString() }),
  }));
}
