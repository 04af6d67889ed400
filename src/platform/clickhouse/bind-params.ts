// The formatter the client itself uses for a server's `param_<name>` (the package has no exports map).
import { formatQueryParams } from '@clickhouse/client/dist/common/index.js';
import { ModelwatchError } from '../errors.js';

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// `{name:Type}`: a placeholder the engine substitutes. A string literal holding this shape is
// read as a placeholder too; no query of this service has one.
const PLACEHOLDER = /\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*[A-Za-z]/g;

/** A ClickHouse single-quoted string literal: only `\` and `'` can end it early; NUL is spelled out. */
function quote(text: string): string {
  return `'${text.replace(/[\\'\0]/g, (c) => (c === '\0' ? '\\0' : `\\${c}`))}'`;
}

/**
 * The statements that bind `params` inside the engine's own session, for an embedded query:
 * `SET param_<name> = '<value>'`, the value formatted exactly as the HTTP client sends it to a
 * server as `param_<name>` (so the engine parses the same text either way), then quoted.
 *
 * Why not chdb's native binding: chdb-node runs every parameterized query of the process
 * through one promise chain (its native parameter state is not isolated per connection), so
 * parameterized reads could never run in parallel. Session parameters belong to one
 * connection, and a connection runs one statement at a time.
 *
 * Session parameters outlive the query, so every placeholder of `sql` must be bound here:
 * a missing one would otherwise read the value an earlier query left.
 */
export function bindStatements(sql: string, params: Record<string, unknown> | undefined): string[] {
  const bound = params ?? {};
  for (const match of sql.matchAll(PLACEHOLDER)) {
    const name = match[1] ?? '';
    if (!Object.hasOwn(bound, name))
      throw new ModelwatchError('CLICKHOUSE_QUERY', `query parameter '${name}' has no value`);
  }
  return Object.entries(bound).map(([name, value]) => {
    if (!PARAM_NAME.test(name))
      throw new ModelwatchError(
        'CLICKHOUSE_QUERY',
        `query parameter name '${name.slice(0, 64)}' is not an identifier`,
      );
    let text: string;
    try {
      text = formatQueryParams({ value });
    } catch (err) {
      throw new ModelwatchError(
        'CLICKHOUSE_QUERY',
        `query parameter '${name}' cannot be sent: ${err instanceof Error ? err.message : String(err)}`,
        false,
        {
          cause: err,
        },
      );
    }
    return `SET param_${name} = ${quote(text)}`;
  });
}
