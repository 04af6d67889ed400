import { homedir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ModelwatchError } from '../errors.js';
import { trustProxySchema, type TrustProxy } from './trust-proxy.js';

const optionalText = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

/**
 * A whole number in decimal digits (`8080`, leading zeros allowed), as the CLI's options read
 * them: `Number()` also read '0x1F90', '0b110', '0o17' and '1e4', which no one means in a setting.
 */
const decimal = (message: string) =>
  z.string().trim().regex(/^\d+$/, message).transform(Number).pipe(z.number().int(message));

const port = (fallback: number) =>
  decimal('expected a port number')
    .pipe(z.number().min(1, 'expected a port from 1 to 65535').max(65535, 'expected a port from 1 to 65535'))
    .default(fallback);

const WHOLE_NUMBER = 'expected a whole number in decimal digits';

const wholeNumber = (min: number, max: number) =>
  decimal(WHOLE_NUMBER).pipe(
    z
      .number()
      .min(min, min === 1 ? 'expected a number above 0' : `expected at least ${min}`)
      .max(max, `expected at most ${max}`),
  );

const positiveInt = (fallback: number, max = Number.MAX_SAFE_INTEGER) =>
  wholeNumber(1, max).default(fallback);

/** A limit that may be left unset (undefined: no limit). */
const optionalPositiveInt = (max: number) => wholeNumber(1, max).optional();

const DURATION_UNITS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

const DURATION_MESSAGE = "expected a duration such as '30s', '15m', '2h' or '1d' (at most 3650d)";

/** `<n>ms`, `<n>s`, `<n>m`, `<n>h` or `<n>d` (n a whole number) → milliseconds, at most 3650 days. */
function durationMs(v: string): number {
  const match = /^(\d{1,9})(ms|s|m|h|d)$/.exec(v);
  const ms = match ? Number(match[1]) * DURATION_UNITS[match[2] as keyof typeof DURATION_UNITS] : Number.NaN;
  return ms <= 3650 * DURATION_UNITS.d ? ms : Number.NaN;
}

/** A duration that may be left unset (undefined: no limit). */
const optionalDuration = z
  .string()
  .trim()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || v === '') return undefined;
    const ms = durationMs(v);
    if (Number.isNaN(ms) || ms === 0) {
      ctx.addIssue({ code: 'custom', message: DURATION_MESSAGE.replace('(', 'above 0 (') });
      return z.NEVER;
    }
    return ms;
  });

const duration = (fallback: string) =>
  z
    .string()
    .trim()
    .default(fallback)
    .transform((v, ctx) => {
      const ms = durationMs(v);
      if (Number.isNaN(ms)) {
        ctx.addIssue({ code: 'custom', message: DURATION_MESSAGE });
        return z.NEVER;
      }
      return ms;
    });

const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes')
  .optional();

const brokerList = z
  .string()
  .trim()
  .transform((v) =>
    v
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean),
  )
  .refine(
    (list) => list.length > 0 && list.every((b) => /^[^\s:]+:\d{1,5}$/.test(b)),
    'expected host:port[,host:port…]',
  )
  .optional();

const PLAIN_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Kafka's own rule for topic names (a name the broker would refuse made start-up retry forever). */
const topic = (fallback: string) =>
  z
    .string()
    .trim()
    .regex(
      /^[A-Za-z0-9._-]{1,249}$/,
      'expected a Kafka topic name (letters, digits, ., _ and -; at most 249)',
    )
    .refine((name) => name !== '.' && name !== '..', "expected a Kafka topic name ('.' and '..' are not)")
    .default(fallback);

/** At least a second: an interval of 0 would run its loop back to back. */
const interval = (fallback: string) =>
  duration(fallback).refine((ms) => ms >= 1_000, 'expected an interval of at least 1s');

const clickhouseUrl = z
  .string()
  .trim()
  .refine((v) => {
    try {
      return ['http:', 'https:'].includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, 'expected an http(s) URL such as http://user:pass@host:8123/modelwatch')
  // The database is named in SQL unquoted, like MODELWATCH_CLICKHOUSE_DATABASE.
  .refine((v) => {
    try {
      const name = databaseFromUrl(v);
      return name === undefined || PLAIN_IDENTIFIER.test(name);
    } catch {
      return !URL.canParse(v); // not a URL at all: reported by the check above
    }
  }, 'expected the database in the URL path to be a plain identifier (letters, digits, _)')
  .optional();

/** Six months and a day: the floor for audit retention unless forced (SPEC 8). */
export const AUDIT_RETENTION_FLOOR_MS = 183 * DURATION_UNITS.d;

/** Topics the service reads or writes: each its own. */
const TOPIC_VARIABLES = [
  'MODELWATCH_TOPIC_PREDICTIONS',
  'MODELWATCH_TOPIC_LABELS',
  'MODELWATCH_TOPIC_ACCESS_LOG',
  'MODELWATCH_TOPIC_DLQ',
  'MODELWATCH_TOPIC_RETRAIN',
  'MODELWATCH_TOPIC_AUDIT_DIGESTS',
  'MODELWATCH_TOPIC_AUDIT',
] as const;

type NamedEnv = Record<(typeof TOPIC_VARIABLES)[number] | 'MODELWATCH_CONSUMER_GROUP', string> & {
  MODELWATCH_AUDIT_CONSUMER_GROUP?: string | undefined;
};

interface NameIssue {
  path: string[];
  message: string;
}

/**
 * Names that must differ. A dead-letter topic that is an input letters its own letters forever;
 * a labels topic that is the predictions topic letters every label; one group for the ingest and
 * audit consumers (different subscriptions) hands partitions of either to both.
 */
function sharedNames(env: NamedEnv): NameIssue[] {
  const issues: NameIssue[] = [];
  const first = new Map<string, string>();
  for (const name of TOPIC_VARIABLES) {
    const earlier = first.get(env[name]);
    if (earlier)
      issues.push({ path: [name], message: `the same topic as ${earlier}: each topic needs its own name` });
    else first.set(env[name], name);
  }
  if (env.MODELWATCH_AUDIT_CONSUMER_GROUP === env.MODELWATCH_CONSUMER_GROUP)
    issues.push({
      path: ['MODELWATCH_AUDIT_CONSUMER_GROUP'],
      message: 'the same group as MODELWATCH_CONSUMER_GROUP: the audit consumer needs a group of its own',
    });
  return issues;
}

const SASL_CREDENTIALS = ['MODELWATCH_KAFKA_SASL_USERNAME', 'MODELWATCH_KAFKA_SASL_PASSWORD'] as const;

/** The whole environment contract, SPEC section 2: every variable optional. */
const envSchema = z
  .object({
    MODELWATCH_KAFKA_BROKERS: brokerList,
    MODELWATCH_KAFKA_CLIENT_ID: z.string().default('modelwatch'),
    MODELWATCH_KAFKA_SSL: flag,
    MODELWATCH_KAFKA_SSL_CA_FILE: optionalText,
    MODELWATCH_KAFKA_SSL_REJECT_UNAUTHORIZED: flag,
    MODELWATCH_KAFKA_SASL_MECHANISM: z
      .enum(['plain', 'scram-sha-256', 'scram-sha-512'], {
        error: 'expected plain, scram-sha-256 or scram-sha-512',
      })
      .optional(),
    MODELWATCH_KAFKA_SASL_USERNAME: optionalText,
    MODELWATCH_KAFKA_SASL_PASSWORD: optionalText,
    MODELWATCH_KAFKA_DEBUG_RING: optionalPositiveInt(1_000_000),
    MODELWATCH_KAFKA_VERSION: z
      .string()
      .regex(/^4\.\d+\.\d+$/, 'expected an Apache Kafka 4.x version such as 4.1.1')
      .default('4.1.1'),
    MODELWATCH_CLICKHOUSE_URL: clickhouseUrl,
    // Named in ON CLUSTER unquoted, like the database.
    MODELWATCH_CLICKHOUSE_CLUSTER: z
      .string()
      .trim()
      .regex(
        PLAIN_IDENTIFIER,
        'expected a plain identifier (letters, digits, _), as the cluster is named in SQL unquoted',
      )
      .optional(),
    MODELWATCH_CLICKHOUSE_DATABASE: z
      .string()
      .regex(PLAIN_IDENTIFIER, 'expected a plain identifier')
      .optional(),
    MODELWATCH_DATA_DIR: z.string().default('.modelwatch'),
    MODELWATCH_CLICKHOUSE_RELEASE_STARTUP_PAGES: flag,
    MODELWATCH_CLICKHOUSE_RELEASE_PAGES_EVERY_MS: positiveInt(10_000, 86_400_000),
    MODELWATCH_CACHE_DIR: z.string().default(path.join(homedir(), '.cache', 'modelwatch')),
    MODELWATCH_API_HOST: z.string().default('0.0.0.0'),
    MODELWATCH_API_PORT: port(8080),
    MODELWATCH_ADMIN_KEY: z.string().min(16, 'expected at least 16 characters').optional(),
    MODELWATCH_METRICS_PUBLIC: flag,
    MODELWATCH_TRUST_PROXY: trustProxySchema,
    MODELWATCH_TOPIC_PREDICTIONS: topic('ml.predictions'),
    MODELWATCH_TOPIC_LABELS: topic('ml.labels'),
    MODELWATCH_TOPIC_ACCESS_LOG: topic('ml.access-log'),
    MODELWATCH_TOPIC_RETRAIN: topic('ml.retrain-triggers'),
    MODELWATCH_TOPIC_AUDIT_DIGESTS: topic('ml.audit-digests'),
    MODELWATCH_TOPIC_DLQ: topic('ml.dead-letter'),
    MODELWATCH_TOPIC_PARTITIONS: positiveInt(6, 1000),
    MODELWATCH_CONSUMER_GROUP: z.string().trim().min(1).default('modelwatch'),
    // A Kafka broker's default group.min/max.session.timeout.ms: it refuses to join outside them.
    MODELWATCH_CONSUMER_SESSION_TIMEOUT_MS: positiveInt(30_000, 1_800_000).refine(
      (ms) => ms >= 6_000,
      'expected at least 6000 (a broker refuses shorter sessions by default)',
    ),
    MODELWATCH_BATCH_MAX_ROWS: positiveInt(20_000, 1_000_000),
    MODELWATCH_BATCH_MAX_MS: positiveInt(1_000, 600_000),
    MODELWATCH_BATCH_MAX_BYTES: positiveInt(8 * 1_048_576, 1_024 * 1_048_576),
    MODELWATCH_BATCH_MAX_IN_FLIGHT: positiveInt(2, 8),
    MODELWATCH_MAX_MESSAGE_BYTES: positiveInt(1_048_576, 100 * 1_048_576),
    MODELWATCH_MAX_FUTURE_SKEW: duration('1d'),
    MODELWATCH_QUALITY_LABEL_DELAY: duration('0s'),
    MODELWATCH_MAX_FEATURES: positiveInt(1_000, 100_000),
    MODELWATCH_MAX_FEATURE_NAME_LENGTH: positiveInt(256, 65_536),
    // Drift and API limits (src/drift/README.md).
    MODELWATCH_DRIFT_MAX_REFERENCE_COLUMNS: positiveInt(1_000, 100_000),
    MODELWATCH_DRIFT_MAX_REFERENCE_ROWS: positiveInt(1_000_000, 100_000_000),
    MODELWATCH_DRIFT_MAX_COLUMN_NAME_LENGTH: positiveInt(256, 65_536),
    MODELWATCH_DRIFT_MAX_RESPONSE_CELLS: positiveInt(100_000, 100_000_000),
    MODELWATCH_DRIFT_MAX_WINDOW_VALUES: positiveInt(200_000_000, Number.MAX_SAFE_INTEGER),
    MODELWATCH_SEGMENTS_MAX_MEMORY_BYTES: positiveInt(268_435_456, Number.MAX_SAFE_INTEGER),
    MODELWATCH_RETRAIN_INTERVAL_MS: positiveInt(5_000, 3_600_000),
    MODELWATCH_RETRAIN_REFERENCE_REFRESH_MS: positiveInt(60_000, 86_400_000),
    MODELWATCH_RETRAIN_PUBLISH_DELAY_MS: wholeNumber(0, 600_000).default(0),
    // Audit trail and API misuse limits (src/audit/README.md).
    MODELWATCH_TOPIC_AUDIT: topic('ml.audit-events'),
    MODELWATCH_AUDIT_CONSUMER_GROUP: optionalText,
    MODELWATCH_AUDIT_DIGEST_INTERVAL: interval('5m'),
    MODELWATCH_AUDIT_VERIFY_INTERVAL: interval('1h'),
    MODELWATCH_AUDIT_BATCH_MAX_MS: positiveInt(500, 600_000),
    MODELWATCH_RATE_LIMIT_WINDOW: duration('1m'),
    MODELWATCH_RETENTION_PREDICTIONS: optionalDuration,
    MODELWATCH_RETENTION_LABELS: optionalDuration,
    MODELWATCH_RETENTION_AUDIT: duration('365d'),
    MODELWATCH_RETENTION_AUDIT_FORCE: flag,
    MODELWATCH_RETENTION_INTERVAL: duration('1h'),
    MODELWATCH_RATE_LIMIT_AUTH_FAILURES: positiveInt(20, 1_000_000_000),
    MODELWATCH_RATE_LIMIT_EXPENSIVE_PER_KEY: positiveInt(60, 1_000_000_000),
    MODELWATCH_RATE_LIMIT_EXPENSIVE_PER_ADDRESS: positiveInt(120, 1_000_000_000),
    MODELWATCH_RATE_LIMIT_COMPUTED_PER_KEY: optionalPositiveInt(1_000_000_000),
    MODELWATCH_RATE_LIMIT_COMPUTED_PER_ADDRESS: optionalPositiveInt(1_000_000_000),
    MODELWATCH_LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
        error: 'expected fatal, error, warn, info, debug, trace or silent',
      })
      .default('info'),
    // Console: JSON lines unless a person reads a terminal (src/platform/observability).
    MODELWATCH_LOG_FORMAT: z.enum(['json', 'pretty'], { error: 'expected json or pretty' }).optional(),
  })
  .superRefine((env, ctx) => {
    if (
      env.MODELWATCH_KAFKA_SASL_MECHANISM &&
      !(env.MODELWATCH_KAFKA_SASL_USERNAME && env.MODELWATCH_KAFKA_SASL_PASSWORD)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['MODELWATCH_KAFKA_SASL_USERNAME'],
        message:
          'MODELWATCH_KAFKA_SASL_MECHANISM needs MODELWATCH_KAFKA_SASL_USERNAME and MODELWATCH_KAFKA_SASL_PASSWORD',
      });
    }
    const credentials = SASL_CREDENTIALS.filter((name) => env[name] !== undefined);
    if (!env.MODELWATCH_KAFKA_SASL_MECHANISM && credentials.length > 0) {
      // Without a mechanism SASL was off: the broker closed every connection and start-up retried
      // forever as "unreachable" (the TLS options below have the same check).
      ctx.addIssue({
        code: 'custom',
        path: ['MODELWATCH_KAFKA_SASL_MECHANISM'],
        message: `not set, and ${credentials.join(' and ')} need${credentials.length > 1 ? '' : 's'} it: plain, scram-sha-256 or scram-sha-512`,
      });
    }
    if (
      env.MODELWATCH_RETENTION_AUDIT < AUDIT_RETENTION_FLOOR_MS &&
      env.MODELWATCH_RETENTION_AUDIT_FORCE !== true
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['MODELWATCH_RETENTION_AUDIT'],
        message:
          'audit records are kept at least 183d (EU AI Act Art. 19 and 26: six months); set MODELWATCH_RETENTION_AUDIT_FORCE=true to go below',
      });
    }
    if (env.MODELWATCH_RETENTION_INTERVAL < 1_000) {
      ctx.addIssue({
        code: 'custom',
        path: ['MODELWATCH_RETENTION_INTERVAL'],
        message: 'expected an interval of at least 1s',
      });
    }
    if (env.MODELWATCH_RATE_LIMIT_WINDOW < 1_000) {
      ctx.addIssue({
        code: 'custom',
        path: ['MODELWATCH_RATE_LIMIT_WINDOW'],
        message: 'expected a window of at least 1s',
      });
    }
    if (
      env.MODELWATCH_KAFKA_SSL !== true &&
      (env.MODELWATCH_KAFKA_SSL_CA_FILE !== undefined ||
        env.MODELWATCH_KAFKA_SSL_REJECT_UNAUTHORIZED !== undefined)
    ) {
      // Set without TLS they were ignored, and the connection went out in plain text.
      ctx.addIssue({
        code: 'custom',
        path: [
          env.MODELWATCH_KAFKA_SSL_CA_FILE !== undefined
            ? 'MODELWATCH_KAFKA_SSL_CA_FILE'
            : 'MODELWATCH_KAFKA_SSL_REJECT_UNAUTHORIZED',
        ],
        message: 'a TLS option needs MODELWATCH_KAFKA_SSL=true',
      });
    }
    if (env.MODELWATCH_CLICKHOUSE_CLUSTER && !env.MODELWATCH_CLICKHOUSE_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['MODELWATCH_CLICKHOUSE_CLUSTER'],
        message: 'a cluster needs a server: set MODELWATCH_CLICKHOUSE_URL too',
      });
    }
    for (const issue of sharedNames(env)) ctx.addIssue({ code: 'custom', ...issue });
  });

type Env = z.infer<typeof envSchema>;

export interface KafkaConfig {
  /** Bootstrap servers; undefined means "start a local broker". */
  brokers: string[] | undefined;
  clientId: string;
  ssl: boolean;
  sslCaFile: string | undefined;
  sslRejectUnauthorized: boolean;
  sasl:
    | { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string }
    | undefined;
  /** Apache Kafka version for the local broker. @default '4.1.1' */
  localVersion: string;
  /**
   * kafkajs DEBUG entries kept in memory and written to a file on a commit stall
   * (src/platform/kafka/flight-recorder.ts). @default undefined (off)
   */
  debugRing: number | undefined;
}

export interface ClickHouseConfig {
  /** Server URL; undefined means the embedded engine under `dataDir`. */
  url: string | undefined;
  cluster: string | undefined;
  /** @default 'modelwatch' (embedded) or the URL's path (server) */
  database: string;
  dataDir: string;
  /**
   * Once started, hand back the embedded engine library's pages that only start-up used
   * (engine-pages.ts), and then again every `releasePagesEveryMs`. Ignored on a server.
   * @default true
   */
  releaseStartupPages?: boolean;
  /** @default 10_000 */
  releasePagesEveryMs?: number;
}

export interface TopicsConfig {
  predictions: string;
  labels: string;
  accessLog: string;
  retrain: string;
  auditDigests: string;
  deadLetter: string;
  /** Partitions for topics modelwatch creates. @default 6 */
  partitions: number;
}

export interface IngestConfig {
  consumerGroup: string;
  /** How long the group waits for a silent member (a crashed instance) before reassigning its partitions. @default 30000 */
  sessionTimeoutMs: number;
  /** Flush a batch at this many rows. @default 20000 */
  batchMaxRows: number;
  /** Flush a batch this long after its first message. @default 1000 */
  batchMaxMs: number;
  /**
   * Flush a batch once its messages and rows hold this many bytes: bounds ingest memory whatever
   * the size of the events (1 KB events flush at about 4,000 rows). @default 8388608 (8 MiB)
   */
  batchMaxBytes: number;
  /** Batches written at the same time (their offsets are committed in order). @default 2 */
  batchMaxInFlight: number;
  /** Larger messages are dead-lettered. @default 1 MiB */
  maxMessageBytes: number;
  /**
   * An event time further than this past the ingest time is dead-lettered (`future_timestamp`),
   * so a clock error or a hostile producer cannot move a drift watermark. @default 86400000 (1d)
   */
  maxFutureSkewMs: number;
  /** More features in one prediction are dead-lettered (`schema`). @default 1000 */
  maxFeatures: number;
  /** A longer feature name is dead-lettered (`schema`); counted in UTF-16 units (JavaScript's length). @default 256 */
  maxFeatureNameLength: number;
}

export interface RetrainConfig {
  /** Pause between retrain-policy evaluations and outbox publishing passes. @default 5000 */
  intervalMs: number;
  /**
   * Longest reuse of a reference period's metric for `max_drop` (late labels change it). @default 60000
   */
  referenceRefreshMs: number;
  /**
   * Test-only: wait this long before each publish of a stored trigger, so a test can kill the
   * process between the store and the publish. @default 0
   */
  publishDelayMs: number;
}

export interface ApiConfig {
  host: string;
  port: number;
  adminKey: string | undefined;
  /**
   * Serve /metrics without a key. Off by default: the scrape carries per-model quality figures
   * that the API guards with a viewer key (src/audit/README.md, "Misuse"). @default false
   */
  metricsPublic: boolean;
  rateLimits: RateLimitConfig;
  /**
   * Peers trusted to forward the client's address (X-Forwarded-For), which the per-address rate
   * limits count by (trust-proxy.ts). @default false (the socket's address)
   */
  trustProxy: TrustProxy;
}

/** API misuse limits, counted per instance (src/api/rate-limit.ts). */
export interface RateLimitConfig {
  /** The window every limit counts in. @default 60000 (1m) */
  windowMs: number;
  /** Failed authentications per client address per window; past it, 429 for that address. @default 20 */
  authFailuresPerAddress: number;
  /** Calls to expensive routes (exports, verification, provenance) per API key per window. @default 60 */
  expensivePerKey: number;
  /** Calls to expensive routes per client address per window. @default 120 */
  expensivePerAddress: number;
  /** Calls to computed routes (metrics, drift, quality, shadow, estimates) per API key per window; unset: no limit. @default undefined */
  computedPerKey?: number | undefined;
  /** Calls to computed routes per client address per window; unset: no limit. @default undefined */
  computedPerAddress?: number | undefined;
}

/** Limits of the drift capability: what one reference or one answer may hold. */
export interface DriftLimitsConfig {
  /** Feature columns per reference (uploaded or from a range). @default 1000 */
  maxReferenceColumns: number;
  /** Rows per uploaded reference. @default 1000000 */
  maxReferenceRows: number;
  /** Characters of a column (feature) name, as in the policy. @default 256 */
  maxColumnNameLength: number;
  /** Cells (buckets × columns) of one drift answer; more is a 400 saying how to narrow. @default 100000 */
  maxResponseCells: number;
  /** Values (predictions × columns) of one window a viewer's answer reads whole; more is a 400. @default 200000000 */
  maxWindowValues: number;
}

export interface AuditConfig {
  /** Topic carrying API-call and state-change records (each partition is one chain). @default 'ml.audit-events' */
  topic: string;
  /** Consumer group of the audit chain writers. @default '<MODELWATCH_CONSUMER_GROUP>-audit' */
  consumerGroup: string;
  /** Chain heads are published to the digests topic this often (and at shutdown). @default 300000 (5m) */
  digestIntervalMs: number;
  /** Chain a batch of audit records this long after its first one. @default 500 */
  batchMaxMs: number;
  /** Every chain is re-verified this often, for the `modelwatch_audit_chains_verified` gauge. @default 3600000 (1h) */
  verifyIntervalMs: number;
  retention: RetentionConfig;
}

/** What retention deletes and how often it runs (src/audit/README.md, "Retention"). */
export interface RetentionConfig {
  /** Predictions (and their shadow scores) older than this by event time are deleted. @default undefined (kept) */
  predictionsMs: number | undefined;
  /** Labels older than this by event time are deleted. @default undefined (kept) */
  labelsMs: number | undefined;
  /** Audit records older than this are deleted; below 183 days only with `forced`. @default 31536000000 (365d) */
  auditMs: number;
  /** MODELWATCH_RETENTION_AUDIT_FORCE: allow audit retention below 183 days. @default false */
  forced: boolean;
  /** Pause between retention runs. @default 3600000 (1h) */
  intervalMs: number;
}

export interface MetricsConfig {
  /**
   * The model quality gauges' window ends this long before the last complete hour: labels that
   * arrive later than that are in it (without, the gauges see an hour whose labels are not in yet).
   * @default 0
   */
  qualityLabelDelayMs: number;
}

export interface SegmentsConfig {
  /**
   * Memory (bytes) the engine may use to count one segmentation's values (`?segment=`, the segment
   * loop); more is a 400 asking for a key with fewer values or a shorter range. @default 268435456
   */
  maxMemoryBytes: number;
}

export interface Config {
  kafka: KafkaConfig;
  clickhouse: ClickHouseConfig;
  topics: TopicsConfig;
  ingest: IngestConfig;
  api: ApiConfig;
  drift: DriftLimitsConfig;
  metrics: MetricsConfig;
  segments: SegmentsConfig;
  retrain: RetrainConfig;
  audit: AuditConfig;
  cacheDir: string;
  logLevel: Env['MODELWATCH_LOG_LEVEL'];
  /** Log lines as JSON or human-readable; unset: readable on a terminal, JSON otherwise. @default undefined */
  logFormat: 'json' | 'pretty' | undefined;
}

/**
 * This process's environment with `overrides` set: for a child process this one starts (a
 * benchmark runs the service in its own process to measure its memory and CPU alone).
 */
export function environmentWith(overrides: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, ...overrides };
}

/** Parses the environment once; throws one `CONFIG_INVALID` error naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // A blank value is unset (`VAR=` in a .env file or `${VAR:-}` in compose), for every variable alike.
  const relevant = Object.fromEntries(
    Object.entries(env).filter(([k, v]) => k.startsWith('MODELWATCH_') && v !== undefined && v.trim() !== ''),
  );
  const parsed = envSchema.safeParse(relevant);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment');
      const got = relevant[name];
      return `${name}: ${issue.message}${got === undefined ? '' : ` (got '${shownValue(name, got)}')`}`;
    });
    throw new ModelwatchError('CONFIG_INVALID', `invalid configuration: ${problems.join('; ')}`);
  }
  return toConfig(parsed.data);
}

const SECRETS = new Set(['MODELWATCH_ADMIN_KEY', 'MODELWATCH_KAFKA_SASL_PASSWORD']);

/** A bad value as an error may show it: never a secret, nor a URL's password (errors reach logs). */
function shownValue(name: string, value: string): string {
  if (SECRETS.has(name)) return '***';
  if (name !== 'MODELWATCH_CLICKHOUSE_URL') return value;
  // Parsed when it parses; otherwise whatever sits between '://user:' and '@' goes.
  if (URL.canParse(value)) {
    const url = new URL(value);
    if (url.password) url.password = '***';
    return url.toString();
  }
  return value.replace(/(\/\/[^/:@]*:)[^@]*@/, '$1***@');
}

function databaseFromUrl(url: string | undefined): string | undefined {
  if (!url) return undefined;
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\/+/, ''));
  return name === '' ? undefined : name;
}

function toConfig(env: Env): Config {
  const sasl = env.MODELWATCH_KAFKA_SASL_MECHANISM
    ? {
        mechanism: env.MODELWATCH_KAFKA_SASL_MECHANISM,
        username: env.MODELWATCH_KAFKA_SASL_USERNAME ?? '',
        password: env.MODELWATCH_KAFKA_SASL_PASSWORD ?? '',
      }
    : undefined;
  return {
    kafka: {
      brokers: env.MODELWATCH_KAFKA_BROKERS,
      clientId: env.MODELWATCH_KAFKA_CLIENT_ID,
      ssl: env.MODELWATCH_KAFKA_SSL ?? false,
      sslCaFile: env.MODELWATCH_KAFKA_SSL_CA_FILE,
      sslRejectUnauthorized: env.MODELWATCH_KAFKA_SSL_REJECT_UNAUTHORIZED ?? true,
      sasl,
      localVersion: env.MODELWATCH_KAFKA_VERSION,
      debugRing: env.MODELWATCH_KAFKA_DEBUG_RING,
    },
    clickhouse: {
      url: env.MODELWATCH_CLICKHOUSE_URL,
      cluster: env.MODELWATCH_CLICKHOUSE_CLUSTER,
      database:
        env.MODELWATCH_CLICKHOUSE_DATABASE ?? databaseFromUrl(env.MODELWATCH_CLICKHOUSE_URL) ?? 'modelwatch',
      dataDir: path.resolve(env.MODELWATCH_DATA_DIR),
      releaseStartupPages: env.MODELWATCH_CLICKHOUSE_RELEASE_STARTUP_PAGES ?? true,
      releasePagesEveryMs: env.MODELWATCH_CLICKHOUSE_RELEASE_PAGES_EVERY_MS,
    },
    topics: {
      predictions: env.MODELWATCH_TOPIC_PREDICTIONS,
      labels: env.MODELWATCH_TOPIC_LABELS,
      accessLog: env.MODELWATCH_TOPIC_ACCESS_LOG,
      retrain: env.MODELWATCH_TOPIC_RETRAIN,
      auditDigests: env.MODELWATCH_TOPIC_AUDIT_DIGESTS,
      deadLetter: env.MODELWATCH_TOPIC_DLQ,
      partitions: env.MODELWATCH_TOPIC_PARTITIONS,
    },
    ingest: {
      consumerGroup: env.MODELWATCH_CONSUMER_GROUP,
      sessionTimeoutMs: env.MODELWATCH_CONSUMER_SESSION_TIMEOUT_MS,
      batchMaxRows: env.MODELWATCH_BATCH_MAX_ROWS,
      batchMaxMs: env.MODELWATCH_BATCH_MAX_MS,
      batchMaxBytes: env.MODELWATCH_BATCH_MAX_BYTES,
      batchMaxInFlight: env.MODELWATCH_BATCH_MAX_IN_FLIGHT,
      maxMessageBytes: env.MODELWATCH_MAX_MESSAGE_BYTES,
      maxFutureSkewMs: env.MODELWATCH_MAX_FUTURE_SKEW,
      maxFeatures: env.MODELWATCH_MAX_FEATURES,
      maxFeatureNameLength: env.MODELWATCH_MAX_FEATURE_NAME_LENGTH,
    },
    api: {
      host: env.MODELWATCH_API_HOST,
      port: env.MODELWATCH_API_PORT,
      adminKey: env.MODELWATCH_ADMIN_KEY,
      metricsPublic: env.MODELWATCH_METRICS_PUBLIC ?? false,
      trustProxy: env.MODELWATCH_TRUST_PROXY,
      rateLimits: {
        windowMs: env.MODELWATCH_RATE_LIMIT_WINDOW,
        authFailuresPerAddress: env.MODELWATCH_RATE_LIMIT_AUTH_FAILURES,
        expensivePerKey: env.MODELWATCH_RATE_LIMIT_EXPENSIVE_PER_KEY,
        expensivePerAddress: env.MODELWATCH_RATE_LIMIT_EXPENSIVE_PER_ADDRESS,
        computedPerKey: env.MODELWATCH_RATE_LIMIT_COMPUTED_PER_KEY,
        computedPerAddress: env.MODELWATCH_RATE_LIMIT_COMPUTED_PER_ADDRESS,
      },
    },
    drift: {
      maxReferenceColumns: env.MODELWATCH_DRIFT_MAX_REFERENCE_COLUMNS,
      maxReferenceRows: env.MODELWATCH_DRIFT_MAX_REFERENCE_ROWS,
      maxColumnNameLength: env.MODELWATCH_DRIFT_MAX_COLUMN_NAME_LENGTH,
      maxResponseCells: env.MODELWATCH_DRIFT_MAX_RESPONSE_CELLS,
      maxWindowValues: env.MODELWATCH_DRIFT_MAX_WINDOW_VALUES,
    },
    metrics: { qualityLabelDelayMs: env.MODELWATCH_QUALITY_LABEL_DELAY },
    segments: { maxMemoryBytes: env.MODELWATCH_SEGMENTS_MAX_MEMORY_BYTES },
    retrain: {
      intervalMs: env.MODELWATCH_RETRAIN_INTERVAL_MS,
      referenceRefreshMs: env.MODELWATCH_RETRAIN_REFERENCE_REFRESH_MS,
      publishDelayMs: env.MODELWATCH_RETRAIN_PUBLISH_DELAY_MS,
    },
    audit: {
      topic: env.MODELWATCH_TOPIC_AUDIT,
      consumerGroup: env.MODELWATCH_AUDIT_CONSUMER_GROUP ?? `${env.MODELWATCH_CONSUMER_GROUP}-audit`,
      digestIntervalMs: env.MODELWATCH_AUDIT_DIGEST_INTERVAL,
      batchMaxMs: env.MODELWATCH_AUDIT_BATCH_MAX_MS,
      retention: {
        predictionsMs: env.MODELWATCH_RETENTION_PREDICTIONS,
        labelsMs: env.MODELWATCH_RETENTION_LABELS,
        auditMs: env.MODELWATCH_RETENTION_AUDIT,
        forced: env.MODELWATCH_RETENTION_AUDIT_FORCE ?? false,
        intervalMs: env.MODELWATCH_RETENTION_INTERVAL,
      },
      verifyIntervalMs: env.MODELWATCH_AUDIT_VERIFY_INTERVAL,
    },
    cacheDir: path.resolve(env.MODELWATCH_CACHE_DIR),
    logLevel: env.MODELWATCH_LOG_LEVEL,
    logFormat: env.MODELWATCH_LOG_FORMAT,
  };
}
