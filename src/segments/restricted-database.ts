/**
 * A Database handle whose reads of `predictions` see one segment only: every occurrence of the
 * caller's range condition (`anchor`, the exact text its queries filter predictions with) is
 * followed by the segment's condition, and the segment's parameters join the query's. Code that
 * reads windows (drift's, quality's) then runs unchanged on a segment. A query that reads
 * `predictions` without the anchor is refused rather than answered for every segment at once.
 */
import type { Database } from '../platform/clickhouse/index.js';
import type { SegmentFilter } from './sql.js';

const READS_PREDICTIONS = /\bpredictions\b/u;

export function restrictPredictions(db: Database, anchor: string, filter: SegmentFilter): Database {
  const restrict = (query: string): string => {
    if (!query.includes(anchor)) {
      if (READS_PREDICTIONS.test(query))
        throw new Error(
          'segment: a query reads predictions without the range condition the segment filter follows',
        );
      return query;
    }
    return query.split(anchor).join(`${anchor} AND (${filter.sql})`);
  };
  const client = db.client;
  const wrapped = new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === 'query' || prop === 'exec' || prop === 'command') {
        const method = Reflect.get(target, prop, receiver) as (p: {
          query: string;
          query_params?: Record<string, unknown>;
        }) => unknown;
        return (params: { query: string; query_params?: Record<string, unknown> }) =>
          method.call(target, {
            ...params,
            query: restrict(params.query),
            query_params: { ...params.query_params, ...filter.params },
          });
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { ...db, client: wrapped };
}
