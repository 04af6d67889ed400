/**
 * A `predictions` row as JSONEachRow for `insertJsonEachRow`, with the columns a test does not
 * care about at their empty values.
 */
export function predictionJson(row: {
  model_id: string;
  model_version: string;
  prediction_id: string;
  timestamp: number;
  features_num?: Record<string, number>;
  features_str?: Record<string, string>;
  prediction?: string;
  prediction_num?: number | null;
  score?: number | null;
}): string {
  return JSON.stringify({
    features_num: {},
    features_str: {},
    prediction: '',
    prediction_num: null,
    score: null,
    probabilities: {},
    latency_ms: null,
    is_error: false,
    entity_id: '',
    request_id: '',
    ...row,
  });
}
