/** GET /models/:model/drift/report (SPEC 9): the HTML drift report of a model's window. */
import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyPluginAsync } from 'fastify';
import {
  renderDriftReportHtml,
  type ReportPerformanceProvider,
  type ReportQualityProvider,
} from '../report/index.js';
import type { ReportRequest } from '../service/drift-service.js';
import type { ReportWithDistributions } from '../service/report-distributions.js';
import { errorSchema, modelParams, reportQuerystring } from './schemas.js';
import { errorMessage } from '../../platform/errors.js';
import { sendError } from './send-error.js';
import { parseColumns, resolveDriftRange } from './query.js';

export interface ReportRouteDeps {
  report: (request: ReportRequest) => Promise<ReportWithDistributions>;
  /** The estimated-performance section, when a bucket is given. @default none */
  performance?: ReportPerformanceProvider | undefined;
  /** The data-quality section (per bucket, or one window for the whole range). @default none */
  quality?: ReportQualityProvider | undefined;
  /** Epoch ms; the default `to`. @default Date.now */
  now?: () => number;
}

export function driftReportRoute(deps: ReportRouteDeps): FastifyPluginAsync {
  const now = deps.now ?? Date.now;
  const plugin: FastifyPluginAsyncJsonSchemaToTs = (app) => {
    app.get(
      '/models/:model/drift/report',
      {
        // Reads the range twice (per bucket, then whole) and sends ~1.2 MB of page.
        config: { role: 'viewer', expensive: true },
        schema: {
          summary: 'The HTML drift report of a model window',
          description:
            "One self-contained HTML page (ECharts inlined, no request at view time): per column the reference and current distributions overlaid, the statistic against its threshold, drifted columns first, and each column's statistic per bucket when `bucket` is given. Same parameters and errors as the drift route, without `segment` and `source`.",
          tags: ['drift'],
          params: modelParams,
          querystring: reportQuerystring,
          // Only the page is HTML: the errors are the one JSON error shape.
          response: {
            200: { description: 'The HTML page', content: { 'text/html': { schema: { type: 'string' } } } },
            400: errorSchema,
            404: errorSchema,
            409: errorSchema,
          },
        },
      },
      async (request, reply) => {
        try {
          const range = resolveDriftRange(request.query, now());
          const report = await deps.report({
            modelId: request.params.model,
            version: request.query.version,
            method: request.query.method,
            columns: parseColumns(request.query.columns),
            ...range,
          });
          // Extra sections (estimates, quality): when one fails (the engine timing out, say) the drift
          // report goes out without it.
          const optional = <T>(section: string, read: Promise<T> | undefined) =>
            read?.catch((err: unknown) => {
              request.log.warn(
                { err: errorMessage(err), model: report.model_id },
                `drift report without its ${section} section`,
              );
              return undefined;
            });
          // Per bucket only: the estimates have no whole-range figure to set beside the band.
          const performance = range.window
            ? await optional(
                'estimated-performance',
                deps.performance?.({
                  modelId: report.model_id,
                  version: report.version,
                  from: range.from,
                  to: range.to,
                  bucket: range.window,
                }),
              )
            : undefined;
          const quality = await optional(
            'data-quality',
            deps.quality?.({
              modelId: report.model_id,
              version: report.version,
              from: range.from,
              to: range.to,
              window: range.window,
            }),
          );
          const html = renderDriftReportHtml({
            performance: performance ?? undefined,
            quality,
            title: `Drift report: ${report.model_id} version ${report.version}`,
            subtitle: `${new Date(range.from).toISOString()} to ${new Date(range.to).toISOString()}${range.window ? `, by ${request.query.bucket ?? ''}` : ''}; reference revision ${report.reference.revision} (${report.reference.rows} rows, set ${report.reference.set_at})`,
            buckets: report.buckets,
            distributions: report.distributions,
            datasetDriftShare: report.datasetDriftShare,
            generatedAt: now(),
          });
          return await reply.type('text/html; charset=utf-8').send(html);
        } catch (err) {
          return sendError(reply, err);
        }
      },
    );
    return Promise.resolve();
  };
  return plugin;
}
