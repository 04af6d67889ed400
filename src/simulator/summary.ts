/** The closing summary: what happened, read back from the service, and where to look next. */
import { errorMessage } from '../platform/errors.js';
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

/** One read of the service: its answer, or why there is none ("not read" is no negative). */
export type Read<T> = { value: T } | { failed: string };

export interface StorySummary {
  finished: boolean;
  /** The topic published triggers went to. */
  retrainTopic: string;
  simulatedUntil: number;
  ingested: Read<Ingested>;
  /** Undefined when the story stopped before the reference period ended: nothing was measured. */
  drifted: Read<DriftedColumn[]> | undefined;
  triggers: Read<ListedTrigger[]>;
  shadow: Read<ShadowTotals[]>;
  audit: Read<AuditCheck>;
}

const day = (t: number | string) => new Date(t).toISOString().slice(0, 10);
const month = (t: string) => t.slice(0, 7);
const n = (x: number) => x.toLocaleString('en-US');

const asRead = <T>(r: PromiseSettledResult<T>): Read<T> =>
  r.status === 'fulfilled' ? { value: r.value } : { failed: errorMessage(r.reason) };

export async function gatherSummary(
  api: ApiClient,
  topics: Topics,
  plan: StoryPlan,
  simulatedUntil: number,
  finished: boolean,
): Promise<StorySummary> {
  const until = Math.min(simulatedUntil, plan.end);
  const drift = until > plan.referenceEnd ? driftedColumns(api, plan.referenceEnd, until) : undefined;
  const settled = await Promise.allSettled([
    ingested(api, topics),
    drift ?? Promise.resolve([]),
    listTriggers(api),
    shadowTotals(api, plan.start, plan.end),
    verifyAudit(api),
  ] as const);
  return {
    finished,
    retrainTopic: topics.retrain,
    simulatedUntil: until,
    ingested: asRead(settled[0]),
    drifted: drift === undefined ? undefined : asRead(settled[1]),
    triggers: asRead(settled[2]),
    shadow: asRead(settled[3]),
    audit: asRead(settled[4]),
  };
}

function ingestedText({ predictions, labels, access }: Ingested): string {
  return `${n(predictions + labels + access)} events: ${n(predictions)} predictions, ${n(labels)} labels, ${n(access)} access-log events`;
}

/** Plain text for stdout; `base` is the API's address, `key` the admin key to show. */
export function formatSummary(s: StorySummary, plan: StoryPlan, base: string, key: string): string {
  const lines = [
    '',
    s.finished
      ? `modelwatch: the story is told (${day(plan.start)} to ${day(plan.end)}, simulated)`
      : `modelwatch: stopped at ${day(s.simulatedUntil)} (simulated), before the end of the story`,
    'value' in s.ingested
      ? `  ingested    ${ingestedText(s.ingested.value)}`
      : `  ingested    not read (${s.ingested.failed})`,
    `  reference   ${day(plan.start)} to ${day(plan.referenceEnd)} (NannyML's reference period), monthly windows after it`,
  ];
  if (s.drifted === undefined)
    lines.push('  drift       not measured yet (the reference period had not ended)');
  else if (!('value' in s.drifted)) lines.push(`  drift       not read (${s.drifted.failed})`);
  else if (s.drifted.value.length === 0) lines.push('  drift       no column drifted');
  else
    for (const d of s.drifted.value)
      lines.push(
        `  drift       ${d.column.padEnd(10)} from ${month(d.first)}, in ${d.drifted} of ${d.windows} monthly windows`,
      );
  if (!('value' in s.triggers)) lines.push(`  triggers    not read (${s.triggers.failed})`);
  else if (s.triggers.value.length === 0) lines.push('  triggers    none emitted');
  else
    for (const t of s.triggers.value)
      lines.push(
        `  trigger     ${t.reason.padEnd(11)} version ${t.model_version}, window ${day(t.window.start)} to ${day(t.window.end)}${t.published ? `, on ${s.retrainTopic}` : ', not yet published'}`,
      );
  if (!('value' in s.shadow)) lines.push(`  shadow      not read (${s.shadow.failed})`);
  else
    for (const c of s.shadow.value)
      lines.push(
        `  shadow      challenger version ${c.version} agreed with production on ${c.agreement === null ? '–' : `${(c.agreement * 100).toFixed(1)}%`} of ${n(c.scored)} predictions`,
      );
  lines.push(
    'value' in s.audit
      ? `  audit       ${s.audit.value.ok ? 'chain verified' : 'CHAIN BROKEN'}: ${n(s.audit.value.checked)} records in ${s.audit.value.chains} chains`
      : `  audit       not verified (${s.audit.failed})`,
    '',
    'Open:',
    `  API docs    ${base}/docs`,
    `  metrics     curl -H "Authorization: Bearer ${key}" '${base}/api/v1/models/${MODEL_ID}/metrics?from=${day(plan.start)}&to=${day(plan.end)}&bucket=month'`,
    `  drift       curl -H "Authorization: Bearer ${key}" '${base}/api/v1/models/${MODEL_ID}/drift?from=${day(plan.referenceEnd)}&to=${day(plan.end)}&bucket=month&version=1&columns=Latitude,Longitude,MedInc'`,
    '',
  );
  return lines.join('\n');
}
