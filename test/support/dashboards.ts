/**
 * The checked-in dashboards (dashboards/*.json, what Grafana loads) read as Grafana reads them:
 * every panel's queries, the template variables and the annotations. The unit test
 * test/unit/dashboards/dashboards.test.ts fails when these files are stale.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface DashboardTarget {
  dashboard: string;
  panel: string;
  refId: string;
  datasource: string;
  expr?: string;
  rawSql?: string;
  instant?: boolean;
  format?: unknown;
}

export interface DashboardVariable {
  dashboard: string;
  name: string;
  query: string;
  datasource: string;
  multi: boolean;
  includeAll: boolean;
}

interface Json {
  uid: string;
  panels?: { title: string; targets?: Record<string, unknown>[]; panels?: unknown[] }[];
  templating?: { list?: Record<string, unknown>[] };
  annotations?: { list?: { name: string; datasource?: { uid: string }; target?: Record<string, unknown> }[] };
}

const DIR = path.resolve(import.meta.dirname, '../../dashboards');

export function loadDashboards(): Json[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(path.join(DIR, f), 'utf8')) as Json);
}

const uidOf = (source: unknown) => (source as { uid?: string } | undefined)?.uid ?? '';

/** Every query of every panel, and every annotation query (panel: `annotation: <name>`). */
export function dashboardTargets(): DashboardTarget[] {
  const out: DashboardTarget[] = [];
  for (const d of loadDashboards()) {
    for (const panel of d.panels ?? [])
      for (const t of panel.targets ?? [])
        out.push({
          dashboard: d.uid,
          panel: panel.title,
          refId: String(t['refId']),
          datasource: uidOf(t['datasource']),
          expr: t['expr'] as string | undefined,
          rawSql: t['rawSql'] as string | undefined,
          instant: t['instant'] === true,
          format: t['format'],
        });
    for (const a of d.annotations?.list ?? [])
      if (a.target)
        out.push({
          dashboard: d.uid,
          panel: `annotation: ${a.name}`,
          refId: 'Anno',
          datasource: uidOf(a.datasource),
          rawSql: a.target['rawSql'] as string | undefined,
          expr: a.target['expr'] as string | undefined,
          format: a.target['format'],
        });
  }
  return out;
}

export function dashboardVariables(): DashboardVariable[] {
  return loadDashboards().flatMap((d) =>
    (d.templating?.list ?? []).map((v) => ({
      dashboard: d.uid,
      name: String(v['name']),
      query: String(v['query']),
      datasource: uidOf(v['datasource']),
      multi: v['multi'] === true,
      includeAll: v['includeAll'] === true,
    })),
  );
}

/**
 * Grafana's prometheusSpecialRegexEscape: the regex escape is itself escaped for the PromQL string
 * it lands in (`1.2` → `1\\.2`); a single `\` before the `.` is a PromQL parse error.
 */
const escapeRegex = (value: string) =>
  value.replace(/\\/g, '\\\\\\\\').replace(/[$^*{}[\]'+?.()|]/g, '\\\\$&');

/** Grafana's prometheusRegularEscape: `\` doubled, `'` as `\\'` (its classic behaviour). */
const escapeString = (value: string) => value.replace(/\\/g, '\\\\').replace(/'/g, "\\\\'");

/**
 * A variable's value in PromQL as Grafana's Prometheus data source interpolates it: a multi-value
 * or All selection becomes the regex `(a|b)` of the escaped values; a single value is escaped as a
 * string.
 */
export function promVariableText(variable: DashboardVariable, values: string[]): string {
  if (variable.multi || variable.includeAll) {
    return values.length === 1 ? escapeRegex(values[0]!) : `(${values.map(escapeRegex).join('|')})`;
  }
  return escapeString(values[0] ?? '');
}

/** `$name`, `${name}` and `[[name]]` replaced; `$__rate_interval` and `$__interval` as for a 1 s scrape. */
export function interpolatePromQL(expr: string, values: ReadonlyMap<string, string>): string {
  return expr
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('$__interval', '1s')
    .replace(/\$\{(\w+)\}|\$(\w+)|\[\[(\w+)\]\]/g, (whole, a?: string, b?: string, c?: string) => {
      const name = a ?? b ?? c ?? '';
      const value = values.get(name);
      if (value === undefined) throw new Error(`variable $${name} in ${expr} is not defined`);
      return value;
    });
}

/** `label_values(selector, label)` or `label_values(label)`. */
export function parseLabelValues(query: string): { match: string | undefined; label: string } {
  const m = /^label_values\(\s*(?:(.+?)\s*,\s*)?(\w+)\s*\)$/.exec(query.trim());
  if (!m) throw new Error(`not a label_values() query: ${query}`);
  return { match: m[1], label: m[2]! };
}
