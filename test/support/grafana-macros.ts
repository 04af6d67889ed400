/**
 * What the Grafana ClickHouse plugin (v4) does to a query's text before sending it, so the
 * dashboards' SQL can run on the engine without Grafana. From the plugin's documentation:
 * - `$__timeFilter(c)` → `c >= toDateTime(<from s>) AND c <= toDateTime(<to s>)`,
 *   `$__timeFilter_ms(c)` the same with `fromUnixTimestamp64Milli(<ms>)`;
 * - `$__fromTime` / `$__toTime` → `toDateTime(<s>)`, `_ms` variants with milliseconds;
 * - `$__dateFilter(c)` → `c >= toDate('<from day>') AND c <= toDate('<to day>')`;
 * - `$__timeInterval(c)` → `toStartOfInterval(toDateTime(c), INTERVAL <s> second)`;
 * - `$__interval_s` → the interval in seconds.
 * Template variables as Grafana 12's formatters (grafana/scenes formatRegistry.ts) write them: a
 * string is a single-valued variable's value, an array a multi-valued one's selection.
 * - `${v:sqlstring}`: each value in `'…'` with `'` → `''` and `"` → `\"`, comma-joined;
 * - `${v:singlequote}`: each value in `'…'` with `'` → `\'`, comma-joined;
 * - `${v:percentencode}`: encodeURIComponent plus `!'()*` encoded; a selection as `{a,b}`.
 * None of them escapes `\`.
 */
export interface MacroContext {
  /** Epoch ms. */
  from: number;
  to: number;
  /** @default 60 */
  intervalSeconds?: number;
  variables: Record<string, string | string[]>;
}

const FORMATS: Record<string, (value: string | string[]) => string> = {
  sqlstring: (value) =>
    [value]
      .flat()
      .map((v) => `'${v.replace(/'|"/g, (c) => (c === "'" ? "''" : '\\"'))}'`)
      .join(','),
  singlequote: (value) =>
    [value]
      .flat()
      .map((v) => `'${v.replaceAll("'", "\\'")}'`)
      .join(','),
  percentencode: (value) =>
    encodeURIComponent(Array.isArray(value) ? `{${value.join(',')}}` : value).replace(
      /[!'()*]/g,
      (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
    ),
};
const seconds = (ms: number) => Math.floor(ms / 1000);
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export function expandMacros(sql: string, ctx: MacroContext): string {
  const interval = ctx.intervalSeconds ?? 60;
  const out = sql
    .replace(
      /\$__timeFilter_ms\((\w+)\)/g,
      (_, c: string) =>
        `${c} >= fromUnixTimestamp64Milli(${ctx.from}) AND ${c} <= fromUnixTimestamp64Milli(${ctx.to})`,
    )
    .replace(
      /\$__timeFilter\((\w+)\)/g,
      (_, c: string) => `${c} >= toDateTime(${seconds(ctx.from)}) AND ${c} <= toDateTime(${seconds(ctx.to)})`,
    )
    .replace(
      /\$__dateFilter\((\w+)\)/g,
      (_, c: string) => `${c} >= toDate('${day(ctx.from)}') AND ${c} <= toDate('${day(ctx.to)}')`,
    )
    .replace(
      /\$__timeInterval\((\w+)\)/g,
      (_, c: string) => `toStartOfInterval(toDateTime(${c}), INTERVAL ${interval} second)`,
    )
    .replaceAll('$__fromTime_ms', `fromUnixTimestamp64Milli(${ctx.from})`)
    .replaceAll('$__toTime_ms', `fromUnixTimestamp64Milli(${ctx.to})`)
    .replaceAll('$__fromTime', `toDateTime(${seconds(ctx.from)})`)
    .replaceAll('$__toTime', `toDateTime(${seconds(ctx.to)})`)
    .replaceAll('$__interval_s', String(interval))
    .replace(/\$\{(\w+):(\w+)\}/g, (_, name: string, format: string) => {
      const value = ctx.variables[name];
      const formatter = FORMATS[format];
      if (value === undefined) throw new Error(`variable ${name} has no value`);
      if (!formatter) throw new Error(`format ${format} is not modelled`);
      return formatter(value);
    });
  const left = /\$\{?\w+/.exec(out);
  if (left) throw new Error(`${left[0]} is not expanded in: ${out}`);
  return out;
}
