/** The auditor's routes: chain verification and compliance exports (SPEC 8). */
import { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import { errorSchema } from '../api/index.js';
import type { Database } from '../platform/clickhouse/index.js';
import { ModelwatchError } from '../platform/errors.js';
import { parseTime } from '../platform/time/index.js';
import { CSV_PAGE_ROWS, engineCsvExport } from './csv-export.js';
import { isAuditError } from './errors.js';
import {
  CSV_COLUMNS,
  EXPORT_CONTENT_TYPES,
  EXPORT_FORMATS,
  auditExportStream,
  type ExportFormat,
} from './export-format.js';
import { parseAuditQuery, queryAuditEvents, type AuditEventRow, type AuditQuery } from './query.js';
import { MAX_ID_LENGTH } from './record.js';
import { verifyStore, type VerifyReport } from './verify-store.js';
import type { DigestEntry } from './verify.js';

/**
 * Rows per page of a json or jsonl export. Each page is parsed and formatted whole, and the
 * service's RSS grows with the page (100,000-row CSV export through this path after a warm-up,
 * test/integration/audit-export-rss.test.ts: 10,000-row pages +209 MB, 1,000 +138 MB, 250 +74 MB;
 * 250 costs about twice the time). CSV is written by the engine instead (CSV_PAGE_ROWS). @default 250
 */
export const EXPORT_PAGE_ROWS = 250;

export interface AuditRoutesDeps {
  db: Database;
  /** Digests this instance published: verification checks the store against them. */
  digests: () => readonly DigestEntry[];
  /** Told every verification's full report (the verification gauges). */
  onVerified?: (report: VerifyReport) => void;
  /** Each chain's source end, for the head offset check (VerifyOptions.sourceEnds). */
  sourceEnds?: () => Promise<ReadonlyMap<string, number>>;
}

const brokenSchema = {
  type: 'object',
  properties: {
    chain: { type: 'string' },
    position: { type: 'integer' },
    reason: { type: 'string' },
    message: { type: 'string' },
  },
} as const;

const filters = {
  principal: { type: 'string', maxLength: MAX_ID_LENGTH },
  entity_id: { type: 'string', maxLength: MAX_ID_LENGTH },
  model: { type: 'string', maxLength: MAX_ID_LENGTH },
  action: { type: 'string', maxLength: 600 },
  from: { type: 'string', maxLength: 40, description: 'inclusive; ISO-8601 (UTC if no offset) or epoch ms' },
  to: { type: 'string', maxLength: 40, description: 'exclusive; ISO-8601 (UTC if no offset) or epoch ms' },
} as const;

/** One exported record: its link fields, then the record's own (at, kind, principal, action, …). */
const exportRow = {
  type: 'object',
  properties: {
    chain: { type: 'string' },
    position: { type: 'integer' },
    prev_hash: { type: 'string' },
    hash: { type: 'string', description: 'SHA-256(prev_hash ‖ JCS(the record without these four fields))' },
  },
  required: ['chain', 'position', 'prev_hash', 'hash'],
  additionalProperties: true,
} as const;

/** The export in the `format` asked for, streamed. */
const exportResponse = {
  description: 'The matching records, oldest first, in the format asked for',
  content: {
    'application/json': { schema: { type: 'array', items: exportRow } },
    'application/x-ndjson': {
      schema: { type: 'string', description: 'jsonl: one record (as in json) a line' },
    },
    'text/csv': { schema: { type: 'string', description: `csv: the columns ${CSV_COLUMNS.join(', ')}` } },
  },
} as const;

type EventsQuery = Partial<Record<keyof typeof filters, string>> & { format?: ExportFormat };

/**
 * Query text to the filter's input: digits that read as epoch ms (parseTime) are numbers,
 * everything else is checked by the schema (`20210501` or epoch seconds are refused there).
 */
function filterInput(query: EventsQuery): Record<string, unknown> {
  const { format: _format, ...rest } = query;
  return Object.fromEntries(
    Object.entries(rest).map(([k, v]) => [
      k,
      (k === 'from' || k === 'to') && typeof v === 'string' && /^\d{1,15}$/.test(v) ? (parseTime(v) ?? v) : v,
    ]),
  );
}

function badQuery(err: unknown): never {
  if (isAuditError(err, 'INVALID_QUERY'))
    throw new ModelwatchError('BAD_REQUEST', `querystring/${err.message}`, false, { cause: err });
  throw err;
}

/** The engine-written CSV export; its first page is read before answering (a failing store is a 503). */
async function csvBody(db: Database, query: AuditQuery): Promise<Readable> {
  const chunks = engineCsvExport(db, query, CSV_PAGE_ROWS);
  const header = await chunks.next();
  const first = await chunks.next();
  async function* all(): AsyncGenerator<Buffer> {
    if (header.done === true) return;
    yield header.value;
    if (first.done === true) return;
    yield first.value;
    yield* chunks;
  }
  return Readable.from(all(), { objectMode: false });
}

export function auditRoutes(deps: AuditRoutesDeps): FastifyPluginAsync {
  return (app) => {
    app.get(
      '/audit/verify',
      {
        config: { role: 'auditor', expensive: true },
        schema: {
          summary: 'Recompute every audit chain and check the digests this instance published',
          tags: ['audit'],
          response: {
            200: {
              type: 'object',
              properties: {
                ok: { type: 'boolean' },
                checked: { type: 'integer' },
                chains: { type: 'integer' },
                first_broken: brokenSchema,
              },
              required: ['ok', 'checked'],
            },
          },
        },
      },
      async () => {
        const full = await verifyStore(deps.db, { digest: deps.digests(), sourceEnds: deps.sourceEnds });
        deps.onVerified?.(full);
        const { broken: _all, ...report } = full;
        return report;
      },
    );

    app.get<{ Querystring: EventsQuery }>(
      '/audit/events',
      {
        config: { role: 'auditor', expensive: true },
        schema: {
          summary: 'Audit records matching the filters, oldest first, streamed (json, jsonl or csv)',
          tags: ['audit'],
          querystring: {
            type: 'object',
            properties: {
              ...filters,
              format: { type: 'string', enum: [...EXPORT_FORMATS], default: 'json' },
            },
          },
          response: { 200: exportResponse, 400: errorSchema },
        },
      },
      async (request, reply) => {
        let query;
        try {
          query = parseAuditQuery(filterInput(request.query));
        } catch (err) {
          badQuery(err);
        }
        const format = request.query.format ?? 'json';
        await request.auditChange({
          action: 'export.run',
          resource_type: 'audit_events',
          resource_id: 'query',
          details: { format, filters: filterInput(request.query) },
        });
        if (format === 'csv') return reply.type(EXPORT_CONTENT_TYPES.csv).send(await csvBody(deps.db, query));
        // The first page is read before answering, so a failing store is a 503, not a cut stream.
        const pages = queryAuditEvents(deps.db, query, EXPORT_PAGE_ROWS);
        const first = await pages.next();
        async function* all(): AsyncGenerator<AuditEventRow[]> {
          if (first.done === true) return;
          yield first.value;
          yield* pages;
        }
        return reply.type(EXPORT_CONTENT_TYPES[format]).send(auditExportStream(all(), format));
      },
    );
    return Promise.resolve();
  };
}
