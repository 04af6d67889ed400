/** GET /models/:model/quality: data quality per bucket, in the drift route's bucket shape. */
import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyPluginAsync } from 'fastify';
import { nullableNumber } from '../../api/index.js';
import { resolveDriftRange } from '../api/routes.js';
import { driftQuerystring, errorSchema, modelParams } from '../api/schemas.js';
import { sendError } from '../api/send-error.js';
import type { QualityService } from './service.js';
import { QUALITY_CHECKS } from './types.js';
import type { SegmentedAnalysis } from '../segments/segmented.js';
import { segmentHeaderSchema, segmentsSchema } from '../segments/schemas.js';
import { requireSegmented, storedQuery, withDeclaredWindow } from '../segments/route-support.js';

const { method: _method, columns: _columns, ...qualityQueryProperties } = driftQuerystring.properties;

export const qualityQuerystring = {
  type: 'object',
  properties: qualityQueryProperties,
  additionalProperties: false,
} as const;

const columnSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    column: { type: 'string' },
    status: {
      type: 'string',
      enum: ['reference', 'new', 'gone'],
      description:
        "new: absent from the reference; gone: in the reference, without a value in the bucket, unlikely at the reference's missing rate",
    },
    value_type: { type: ['string', 'null'], enum: ['number', 'text', null] },
    kind: { type: ['string', 'null'], enum: ['numerical', 'categorical', null] },
    values: { type: 'integer', description: 'rows holding a finite value of the column' },
    missing_rate: { type: 'number', description: 'rows without a value (absent, null or non-finite) / rows' },
    wrong_type_share: { type: 'number', description: 'rows holding a value of the other type / rows' },
    unseen_share: { ...nullableNumber, description: 'categorical: unseen categories / right-typed values' },
    top_unseen: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        properties: { value: { type: 'string' }, count: { type: 'integer' } },
        required: ['value', 'count'],
      },
    },
    out_of_range_share: {
      ...nullableNumber,
      description: "numerical: numbers outside the reference's [min, max] / numbers",
    },
    flags: { type: 'array', items: { type: 'string', enum: [...QUALITY_CHECKS] } },
    flagged: { type: 'boolean' },
  },
  required: [
    'column',
    'status',
    'value_type',
    'kind',
    'values',
    'missing_rate',
    'wrong_type_share',
    'unseen_share',
    'top_unseen',
    'out_of_range_share',
    'flags',
    'flagged',
  ],
} as const;

const qualityBucketSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    start: { type: 'string', format: 'date-time' },
    end: { type: 'string', format: 'date-time' },
    count: { type: 'integer' },
    flagged_columns: { type: 'integer' },
    columns: { type: 'array', items: columnSchema },
  },
  required: ['start', 'end', 'count', 'flagged_columns', 'columns'],
} as const;

export const qualityResponse = {
  type: 'object',
  additionalProperties: false,
  properties: {
    model_id: { type: 'string' },
    version: { type: 'string' },
    reference: {
      type: 'object',
      additionalProperties: false,
      properties: {
        revision: { type: 'integer' },
        set_at: { type: 'string', format: 'date-time' },
        rows: { type: 'integer' },
      },
      required: ['revision', 'set_at', 'rows'],
    },
    buckets: {
      type: 'array',
      description: 'buckets holding predictions, oldest first',
      items: qualityBucketSchema,
    },
    segment: segmentHeaderSchema,
    segments: segmentsSchema(qualityBucketSchema),
  },
  required: ['model_id', 'version', 'reference', 'buckets'],
} as const;

export function qualityRoutes(deps: {
  service: QualityService;
  /** Answers `?segment=`; without it a segmented request is a 400. @default none */
  segmented?: SegmentedAnalysis | undefined;
  now?: () => number;
}): FastifyPluginAsync {
  const now = deps.now ?? Date.now;
  const plugin: FastifyPluginAsyncJsonSchemaToTs = (app) => {
    app.get(
      '/models/:model/quality',
      {
        config: { role: 'viewer', computed: true },
        schema: {
          summary: 'Data quality per time bucket against the version reference',
          description:
            'Per feature column: missing rate, values of the wrong type, unseen categories, values outside the reference range, ' +
            "new columns and columns gone missing, flagged by the policy's `quality` thresholds. Buckets as in the drift route; 409 without a reference.",
          tags: ['drift'],
          params: modelParams,
          querystring: qualityQuerystring,
          response: { 200: qualityResponse, 400: errorSchema, 404: errorSchema, 409: errorSchema },
        },
      },
      async (request, reply) => {
        try {
          const { segment } = request.query;
          const stored = await storedQuery(deps.segmented, request.params.model, request.query);
          const query =
            stored ?? (await withDeclaredWindow(deps.segmented, request.params.model, request.query));
          const range = resolveDriftRange(query, now());
          const base = { modelId: request.params.model, version: request.query.version, ...range };
          if (stored)
            return await requireSegmented(deps.segmented).storedQuality({ ...base, segment: stored.segment });
          if (segment !== undefined)
            return await requireSegmented(deps.segmented).quality({ ...base, segment });
          return await deps.service.report(base);
        } catch (err) {
          return sendError(reply, err);
        }
      },
    );
    return Promise.resolve();
  };
  return plugin;
}
