import { Partitioners, type Kafka } from 'kafkajs';

const NUMERIC_FEATURES = 52;
const STRING_FEATURES = 6;
/** Distinct feature sets: the producer reuses their text so that it, not the service, stays cheap. */
const FEATURE_VARIANTS = 10_007;

const featureText = new Map<number, string>();

function features(i: number): string {
  const variant = i % FEATURE_VARIANTS;
  let text = featureText.get(variant);
  if (text === undefined) {
    const values: Record<string, number | string> = {};
    for (let f = 0; f < NUMERIC_FEATURES; f++)
      values[`f${f}`] = Math.round(((variant * 7919 + f * 104729) % 100_000) * 1.37) / 100;
    for (let s = 0; s < STRING_FEATURES; s++) values[`s${s}`] = `cat-${(variant + s) % 17}`;
    text = JSON.stringify(values);
    featureText.set(variant, text);
  }
  return text;
}

/** A ~1 KB prediction event (52 numeric and 6 string features), as the issue asks. */
export function benchEvent(i: number, timestamp: number): string {
  return (
    `{"prediction_id":"bench-${i}","model_id":"bench-model","model_version":"1","timestamp":${timestamp},` +
    `"features":${features(i)},"prediction":${i % 2},"score":${(i % 1000) / 1000},"latency_ms":${3 + (i % 40)},` +
    `"status":"${i % 100 === 0 ? 'error' : 'ok'}","entity_id":"entity-${i % 10_000}","request_id":"req-${i}"}`
  );
}

/** Sends `count` events numbered from `first`, 5,000 per request. */
export async function produceEvents(
  kafka: Kafka,
  topic: string,
  count: number,
  first = 0,
  timestamp = () => Date.now(),
): Promise<void> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    for (let i = 0; i < count; i += 5_000) {
      const n = Math.min(5_000, count - i);
      const messages = Array.from({ length: n }, (_, j) => ({
        key: `k${first + i + j}`,
        value: benchEvent(first + i + j, timestamp()),
      }));
      await producer.send({ topic, messages, acks: 1 });
    }
  } finally {
    await producer.disconnect();
  }
}

/**
 * Produces at a steady rate, one request every 100 ms, each event stamped with its send time;
 * `onTick` runs after each request (the benchmark samples the service there).
 */
export async function producePaced(
  kafka: Kafka,
  topic: string,
  options: { rate: number; seconds: number; first: number; onTick?: (elapsedMs: number) => void },
): Promise<number> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const perTick = Math.max(1, Math.round(options.rate / 10));
  const ticks = Math.round(options.seconds * 10);
  const start = performance.now();
  try {
    for (let t = 0; t < ticks; t++) {
      const messages = Array.from({ length: perTick }, (_, j) => ({
        value: benchEvent(options.first + t * perTick + j, Date.now()),
      }));
      await producer.send({ topic, messages, acks: 1 });
      options.onTick?.(performance.now() - start);
      const wait = start + (t + 1) * 100 - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  } finally {
    await producer.disconnect();
  }
  return perTick * ticks;
}
