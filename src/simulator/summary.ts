/** The closing summary: what happened, read back from the service, and where to look next. */
import type { ApiClient } from './api-client.js';
import {
  driftedColumns,
  ingested,
  listTriggers,
  shadowTotals,
  verifyAudit,
  type AuditCheck,
  type DriftedColumn,
  type Ingested,
  type ListedTrigger,
  type ShadowTotals,
} from './observe.js';
import { MODEL_ID, type StoryPlan } from './plan.js';
import type { Topics } from './publish.js';

export interface StorySummary {
  finished: boolean;
  simulatedUntil: number;
  ingested: Ingested;
  drifted: DriftedColumn[];
  triggers: ListedTrigger[];
  shadow: ShadowTotals[];
  audit: AuditCheck | undefined;
}

const day = (t: number | string) => new Date(t).toISOString().slice(0, 10);
const month = (t: string) => t.slice(0, 7);
const n = (x: number) => x.toLocaleString('en-US');

export async function gatherSummary(
  api: ApiClient,
  topics: Topics,
  plan: StoryPlan,
  simulatedUntil: number,
  finished: boolean,
): Promise<StorySummary> {
  const until = Math.min(simulatedUntil, plan.end);
  const settled = await Promise.allSettled([
    ingested(api, topics),
    until > plan.referenceEnd ? driftedColumns(api, plan.referenceEnd, until) : Promise.resolve([]),
    listTriggers(api),
    shadowTotals(api, plan.start, plan.end),
    verifyAudit(api),
  ] as const);
  const value = <T>(r: PromiseSettledResult<T>, fallback: T): T =>
    r.status === 'fulfilled' ? r.value : fallback;
  return {
    finished,
    simulatedUntil: until,
    ingested: value(settled[0], { predictions: 0, labels: 0, access: 0 }),
    drifted: value(settled[1], []),
    triggers: value(settled[2], []),
    shadow: value(settled[3], []),
    audit: value(settled[4], undefined),
  };
}

/** Plain text for stdout; `base` is the API's address, `key` the admin key to show. */
export function formatSummary(s: StorySummary, plan: StoryPlan, base: string, key: string): string {
  const { predictions, labels, access } = s.ingested;
  const lines = [
    '',
    s.finished
      ? `modelwatch: the story is told (${day(plan.start)} to ${day(plan.end)}, simulated)`
      : `modelwatch: stopped at ${day(s.simulatedUntil)} (simulated), before the end of the story`,
    `  ingested    ${n(predictions + labels + access)} events: ${n(predictions)} predictions, ${n(labels)} labels, ${n(access)} access-log events`,
    `  reference   ${day(plan.start)} to ${day(plan.referenceEnd)} (NannyML's reference period), monthly windows after it`,
  ];
  if (s.drifted.length === 0) lines.push('  drift       no column drifted');
  for (const d of s.drifted)
    lines.push(
      `  drift       ${d.column.padEnd(10)} from ${month(d.first)}, in ${d.drifted} of ${d.windows} monthly windows`,
    );
  if (s.triggers.length === 0) lines.push('  triggers    none emitted');
  for (const t of s.triggers)
    lines.push(
      `  trigger     ${t.reason.padEnd(11)} version ${t.model_version}, window ${day(t.window.start)} to ${day(t.window.end)}${t.published ? ', on ml.retrain-triggers' : ', not yet published'}`,
    );
  for (const c of s.shadow)
    lines.push(
      `  shadow      challenger version ${c.version} agreed with production on ${c.agreement === null ? '–' : `${(c.agreement * 100).toFixed(1)}%`} of ${n(c.scored)} predictions`,
    );
  lines.push(
    s.audit
      ? `  audit       ${s.audit.ok ? 'chain verified' : 'CHAIN BROKEN'}: ${n(s.audit.checked)} records in ${s.audit.chains} chains`
      : '  audit       not verified (the service did not answer)',
    '',
    'Open:',
    `  API docs    ${base}/docs`,
    `  metrics     curl -H "Authorization: Bearer ${key}" '${base}/api/v1/models/${MODEL_ID}/metrics?from=${day(plan.start)}&to=${day(plan.end)}&bucket=month'`,
    `  drift       curl -H "Authorization: Bearer ${key}" '${base}/api/v1/models/${MODEL_ID}/drift?from=${day(plan.referenceEnd)}&to=${day(plan.end)}&bucket=month&version=1&columns=Latitude,Longitude,MedInc'`,
    '',
  );
  return lines.join('\n');
}
