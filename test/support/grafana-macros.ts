/**
 * What the Grafana ClickHouse plugin (v4) does to a query's text before sending it, so the
 * dashboards' SQL can run on the engine without Grafana. From the plugin's documentation:
 * - `$__timeFilter(c)` → `c >= toDateTime(<from s>) AND c <= toDateTime(<to s>)`,
 *   `$__timeFilter_ms(c)` the same with `fromUnixTimestamp64Milli(<ms>)`;
 * - `$__fromTime` / `$__toTime` → `toDateTime(<s>)`, `_ms` variants with milliseconds;
 * - `$__dateFilter(c)` → `c >= toDate('<from day>') AND c <= toDate('<to day>')`;
 * - `$__timeInterval(c)` → `toStartOfInterval(toDateTime(c), INTERVAL <s> second)`;
 * - `$__interval_s` → the interval in seconds.
 * Template variables as Grafana formats them: `${v:sqlstring}` one quoted, `'`-doubled value
 * (a multi-value selection comma-joined); `${v:singlequote}` each value quoted, comma-joined.
 */
export interface MacroContext {
  /** Epoch ms. */
  from: number;
  to: number;
  /** @default 60 */
  intervalSeconds?: number;
  variables: Record<string, string[]>;
}

const quote = (v: string) => `'${v.replaceAll("'", "''")}'`;
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
    .replace(/\$\{(\w+):(sqlstring|singlequote)\}/g, (_, name: string, format: string) => {
      const values = ctx.variables[name];
      if (values === undefined || values.length === 0) throw new Error(`variable ${name} has no value`);
      return format === 'sqlstring' ? quote(values.join(',')) : values.map(quote).join(',');
    });
  const left = /\$\{?\w+/.exec(out);
  if (left) throw new Error(`${left[0]} is not expanded in: ${out}`);
  return out;
}
