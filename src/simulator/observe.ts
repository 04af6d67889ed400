/** What the service says about the story so far, read through its API like any client. */
import { sumSamples, type ApiClient } from './api-client.js';
import { FEATURES } from './data.js';
import { MODEL_ID } from './plan.js';
import { PRODUCTION } from './setup.js';
import type { Topics } from './publish.js';

export interface Ingested {
  predictions: number;
  labels: number;
  access: number;
}

export interface DriftedColumn {
  column: string;
  /** Start of the first drifted window (ISO). */
  first: string;
  /** Windows in which it drifted, of `windows`. */
  drifted: number;
  windows: number;
}

export interface ListedTrigger {
  trigger_id: string;
  model_version: string;
  reason: 'drift' | 'performance';
  window: { start: string; end: string };
  published: boolean;
}

interface DriftBucket {
  start: string;
  columns: { column: string; role: string; drifted: boolean }[];
}

export interface ShadowTotals {
  version: string;
  scored: number;
  agreement: number | null;
}

interface ShadowBucket {
  scored: number;
  agreement: number | null;
}

/*
 * Each read throws when the service does not answer 200: a refused or failed call is "not read",
 * never an empty answer (no drift, no triggers) the summary would state as a fact.
 */

/** Messages stored by the collectors per input topic (from /metrics). */
export async function ingested(api: ApiClient, topics: Topics): Promise<Ingested> {
  const text = await api.metricsText();
  const stored = (topic: string) =>
    sumSamples(text, 'modelwatch_messages_total', { topic, outcome: 'stored' });
  return {
    predictions: stored(topics.predictions),
    labels: stored(topics.labels),
    access: stored(topics.accessLog),
  };
}

/** A gauge or counter of this model on /metrics (0 when absent). */
export async function modelSample(api: ApiClient, name: string): Promise<number> {
  return sumSamples(await api.metricsText(), name, { model: MODEL_ID });
}

/** Feature columns that drifted in [from, to), by monthly window (the drift route, computed now). */
export async function driftedColumns(api: ApiClient, from: number, to: number): Promise<DriftedColumn[]> {
  const q = `from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}&bucket=month&version=${PRODUCTION.version}`;
  const answer = await api.ok<{ buckets?: DriftBucket[] }>('GET', `/api/v1/models/${MODEL_ID}/drift?${q}`);
  const buckets = answer.buckets ?? [];
  const features = new Set<string>(FEATURES);
  const out = new Map<string, DriftedColumn>();
  for (const b of buckets)
    for (const c of b.columns) {
      if (c.role !== 'feature' || !features.has(c.column) || !c.drifted) continue;
      const known = out.get(c.column);
      if (known) known.drifted += 1;
      else out.set(c.column, { column: c.column, first: b.start, drifted: 1, windows: buckets.length });
    }
  return [...out.values()];
}

export async function listTriggers(api: ApiClient): Promise<ListedTrigger[]> {
  const answer = await api.ok<{ triggers?: ListedTrigger[] }>(
    'GET',
    `/api/v1/retrain-triggers?model=${MODEL_ID}`,
  );
  return answer.triggers ?? [];
}

/** Per challenger: predictions scored in shadow and the share where it agreed with production. */
export async function shadowTotals(api: ApiClient, from: number, to: number): Promise<ShadowTotals[]> {
  const q = `from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}&bucket=month`;
  const answer = await api.ok<{ challengers?: { version: string; buckets: ShadowBucket[] }[] }>(
    'GET',
    `/api/v1/models/${MODEL_ID}/shadow?${q}`,
  );
  return (answer.challengers ?? []).map((c) => {
    let scored = 0;
    let agreed = 0;
    for (const b of c.buckets) {
      scored += b.scored;
      agreed += (b.agreement ?? 0) * b.scored;
    }
    return { version: c.version, scored, agreement: scored > 0 ? agreed / scored : null };
  });
}

export interface AuditCheck {
  ok: boolean;
  checked: number;
  chains: number;
}

export async function verifyAudit(api: ApiClient): Promise<AuditCheck> {
  return api.ok<AuditCheck>('GET', '/api/v1/audit/verify');
}
