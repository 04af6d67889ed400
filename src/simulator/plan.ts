/**
 * The story's events as a pure function of the data and the seed: what production served (time,
 * latency, errors), when each label arrives, and who touched what (access log). Model outputs are
 * not here: the inference core adds them when a prediction is published.
 */
import { fractionOf, Random } from './random.js';
import type { StoryData, StoryRow } from './data.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const MODEL_ID = 'california';

export interface PlannedPrediction {
  row: StoryRow;
  predictionId: string;
  /** Event time, epoch ms (the data's hour plus the request's minute, from the row alone). */
  timestamp: number;
  latencyMs: number;
  status: 'ok' | 'error';
  entityId: string;
  requestId: string;
}

export interface PlannedLabel {
  predictionId: string;
  label: number;
  /** When the truth becomes known (event time of the label). */
  timestamp: number;
}

export interface AccessEvent {
  event_id: string;
  timestamp: number;
  principal: string;
  action: string;
  resource_type: string;
  resource_id: string;
  model_id?: string;
  entity_id?: string;
  purpose?: string;
  outcome: 'allowed' | 'denied';
  source_ip?: string;
}

export interface StoryPlan {
  seed: number;
  predictions: PlannedPrediction[];
  /** In arrival order. */
  labels: PlannedLabel[];
  /** In time order. */
  access: AccessEvent[];
  start: number;
  /** The reference period is [start, referenceEnd): NannyML's reference set. */
  referenceEnd: number;
  /** After the last prediction. */
  end: number;
}

/** Serving latency: log-normal around 18 ms, slower at California's evening peak, rare GC-like spikes. */
function latency(random: Random, time: number): number {
  const pacificHour = (new Date(time).getUTCHours() + 16) % 24;
  const load = 1 + 0.35 * Math.max(0, Math.sin(((pacificHour - 8) / 14) * Math.PI));
  const spike = random.chance(0.01) ? 4 + random.next() * 6 : 1;
  return Math.round(random.logNormal(18, 0.3) * load * spike * 100) / 100;
}

/** Errors: 0.4% of requests time out at the 250 ms deadline; they carry the fallback answer. */
const ERROR_RATE = 0.004;
/** Labels: the sale or appraisal is known days later (median 3 d, a long tail, capped at 45 d); 2% never. */
const LABEL_MEDIAN_MS = 3 * DAY;
const LABEL_LOST = 0.02;

/*
 * Event times come from the row, not the seed: the collectors take an event with the same id and
 * the same time as the same row, so a second run on the same data directory under any seed
 * replays the first run's predictions and access events instead of adding new ones. The draws
 * the seed once spent on those times are still made, so that a seed's latencies, errors, label
 * delays and access events stay what they were.
 */
function planPrediction(random: Random, row: StoryRow): PlannedPrediction {
  const failed = random.chance(ERROR_RATE);
  random.next();
  return {
    row,
    predictionId: `cal-${row.id}`,
    timestamp: row.time + Math.floor(fractionOf(row.id) * HOUR),
    latencyMs: failed ? 250 + Math.round(random.next() * 2000) / 100 : latency(random, row.time),
    status: failed ? 'error' : 'ok',
    entityId: `block-${row.id}`,
    requestId: `req-${random.hex()}`,
  };
}

function planLabel(random: Random, p: PlannedPrediction): PlannedLabel | undefined {
  if (random.chance(LABEL_LOST)) return undefined;
  const delay = Math.min(45 * DAY, random.logNormal(LABEL_MEDIAN_MS, 0.8));
  return { predictionId: p.predictionId, label: p.row.label, timestamp: p.timestamp + Math.round(delay) };
}

interface Principal {
  name: string;
  perDay: number;
  event(random: Random, p: PlannedPrediction): Omit<AccessEvent, 'event_id' | 'timestamp' | 'principal'>;
}

const PRINCIPALS: readonly Principal[] = [
  {
    name: 'svc-pricing-api',
    perDay: 2,
    event: (_r, p) => ({
      action: 'predict',
      resource_type: 'model',
      resource_id: `${MODEL_ID}/1`,
      model_id: MODEL_ID,
      entity_id: p.entityId,
      purpose: 'listing price estimate',
      outcome: 'allowed',
      source_ip: '10.0.4.12',
    }),
  },
  {
    name: 'maria.analyst',
    perDay: 0.6,
    event: (r) => ({
      action: r.pick(['read', 'read', 'query']),
      resource_type: 'predictions',
      resource_id: MODEL_ID,
      model_id: MODEL_ID,
      purpose: 'weekly quality review',
      outcome: 'allowed',
      source_ip: '10.0.9.31',
    }),
  },
  {
    name: 'etl-retraining',
    perDay: 0.3,
    event: () => ({
      action: 'export',
      resource_type: 'dataset',
      resource_id: 'california_housing',
      model_id: MODEL_ID,
      purpose: 'retraining',
      outcome: 'allowed',
      source_ip: '10.0.2.7',
    }),
  },
  {
    name: 'tom.intern',
    perDay: 0.15,
    event: (_r, p) => ({
      action: 'read',
      resource_type: 'entity',
      resource_id: p.entityId,
      model_id: MODEL_ID,
      entity_id: p.entityId,
      outcome: 'denied',
      source_ip: '10.0.9.77',
    }),
  },
  {
    name: 'unknown-script',
    perDay: 0.05,
    event: () => ({
      action: 'export',
      resource_type: 'predictions',
      resource_id: MODEL_ID,
      model_id: MODEL_ID,
      outcome: 'denied',
      source_ip: '198.51.100.23',
    }),
  },
];

function planAccess(random: Random, p: PlannedPrediction, index: number): AccessEvent[] {
  const out: AccessEvent[] = [];
  for (const who of PRINCIPALS) {
    if (!random.chance(who.perDay / 24)) continue;
    random.next();
    const eventId = `acc-${index}-${who.name}`;
    out.push({
      event_id: eventId,
      timestamp: p.timestamp + Math.floor(fractionOf(eventId) * 60_000),
      principal: who.name,
      ...who.event(random, p),
    });
  }
  return out;
}

/** The whole story for `seed`: the same data and seed give the same events, field for field. */
export function planStory(data: StoryData, seed: number): StoryPlan {
  const random = new Random(seed);
  const rows = [...data.reference, ...data.analysis];
  const predictions: PlannedPrediction[] = [];
  const labels: PlannedLabel[] = [];
  const access: AccessEvent[] = [];
  rows.forEach((row, i) => {
    const p = planPrediction(random, row);
    predictions.push(p);
    const label = planLabel(random, p);
    if (label) labels.push(label);
    access.push(...planAccess(random, p, i));
  });
  labels.sort((a, b) => a.timestamp - b.timestamp || a.predictionId.localeCompare(b.predictionId));
  access.sort((a, b) => a.timestamp - b.timestamp || a.event_id.localeCompare(b.event_id));
  const first = rows[0]?.time ?? 0;
  const last = rows[rows.length - 1]?.time ?? first;
  return {
    seed,
    predictions,
    labels,
    access,
    start: first,
    referenceEnd: data.analysis[0]?.time ?? last + HOUR,
    end: last + HOUR,
  };
}
