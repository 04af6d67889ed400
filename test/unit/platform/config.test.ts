import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/platform/config/index.js';
import { isModelwatchError } from '../../../src/platform/errors.js';

function configError(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    if (isModelwatchError(err, 'CONFIG_INVALID')) return err.message;
    throw err;
  }
  throw new Error('expected a configuration error');
}

describe('loadConfig', () => {
  it('gives embedded defaults when nothing is set', () => {
    const config = loadConfig({});
    expect(config.kafka.brokers).toBeUndefined();
    expect(config.clickhouse.url).toBeUndefined();
    expect(config.clickhouse.database).toBe('modelwatch');
    expect(config.clickhouse.dataDir).toMatch(/\.modelwatch$/);
    expect(config.api.port).toBe(8080);
    expect(config.topics).toMatchObject({
      predictions: 'ml.predictions',
      labels: 'ml.labels',
      accessLog: 'ml.access-log',
      retrain: 'ml.retrain-triggers',
      auditDigests: 'ml.audit-digests',
      deadLetter: 'ml.dead-letter',
    });
    expect(config.ingest.consumerGroup).toBe('modelwatch');
  });

  it('takes a blank value for unset, for every variable alike', () => {
    const blank = loadConfig({
      MODELWATCH_KAFKA_BROKERS: '',
      MODELWATCH_DATA_DIR: ' ',
      MODELWATCH_API_PORT: '',
      MODELWATCH_TOPIC_LABELS: '',
      MODELWATCH_CONSUMER_GROUP: '',
      MODELWATCH_MAX_FUTURE_SKEW: '',
    });
    expect(blank.kafka.brokers).toBeUndefined();
    expect(blank.clickhouse.dataDir).toMatch(/\.modelwatch$/);
    expect([blank.api.port, blank.topics.labels, blank.ingest.consumerGroup]).toEqual([
      8080,
      'ml.labels',
      'modelwatch',
    ]);
    expect(blank.ingest.maxFutureSkewMs).toBe(86_400_000);
    expect(configError({ MODELWATCH_KAFKA_BROKERS: ' , ' })).toContain(
      'MODELWATCH_KAFKA_BROKERS: expected host:port',
    );
  });

  it('never shows a secret in a configuration error', () => {
    const url = configError({ MODELWATCH_CLICKHOUSE_URL: 'http://modelwatch:S3cretPw@ch:8123/model-watch' });
    expect(url).toContain(
      "MODELWATCH_CLICKHOUSE_URL: expected the database in the URL path to be a plain identifier (letters, digits, _) (got 'http://modelwatch:***@ch:8123/model-watch')",
    );
    expect(configError({ MODELWATCH_CLICKHOUSE_URL: 'clickhouse://u:S3cretPw@h:9000/db' })).not.toContain(
      'S3cretPw',
    );
    const key = configError({ MODELWATCH_ADMIN_KEY: 'mw_shortsecret' });
    expect(key).toContain("MODELWATCH_ADMIN_KEY: expected at least 16 characters (got '***')");
    expect(key).not.toContain('shortsecret');
  });

  it('refuses at start-up the values a broker or server would refuse later (start-up retried them forever)', () => {
    expect(
      configError({
        MODELWATCH_CLICKHOUSE_URL: 'http://ch:8123',
        MODELWATCH_CLICKHOUSE_CLUSTER: 'prod-cluster',
      }),
    ).toContain('MODELWATCH_CLICKHOUSE_CLUSTER: expected a plain identifier');
    // '.' and '..' match Kafka's characters but are names it refuses.
    for (const bad of ['ml/labels', 'ml labels', 'x'.repeat(250), '.', '..'])
      expect(configError({ MODELWATCH_TOPIC_LABELS: bad }), bad.slice(0, 20)).toContain(
        'MODELWATCH_TOPIC_LABELS: expected a Kafka topic name',
      );
    expect(loadConfig({ MODELWATCH_TOPIC_DLQ: '...' }).topics.deadLetter).toBe('...');
    expect(loadConfig({ MODELWATCH_TOPIC_PREDICTIONS: ' ml.predictions-v2 ' }).topics.predictions).toBe(
      'ml.predictions-v2',
    );
    expect(loadConfig({ MODELWATCH_CONSUMER_GROUP: ' modelwatch ' }).ingest.consumerGroup).toBe('modelwatch');
    for (const bad of ['5999', '1800001'])
      expect(configError({ MODELWATCH_CONSUMER_SESSION_TIMEOUT_MS: bad }), bad).toContain(
        'MODELWATCH_CONSUMER_SESSION_TIMEOUT_MS',
      );
    for (const name of ['MODELWATCH_AUDIT_DIGEST_INTERVAL', 'MODELWATCH_AUDIT_VERIFY_INTERVAL'])
      expect(configError({ [name]: '0s' })).toContain(`${name}: expected an interval of at least 1s`);
    expect(configError({ MODELWATCH_KAFKA_SSL_CA_FILE: '/etc/ca.pem' })).toContain(
      'MODELWATCH_KAFKA_SSL_CA_FILE: a TLS option needs MODELWATCH_KAFKA_SSL=true',
    );
    expect(
      loadConfig({ MODELWATCH_KAFKA_SSL: 'true', MODELWATCH_KAFKA_SSL_CA_FILE: '/etc/ca.pem' }).kafka
        .sslCaFile,
    ).toBe('/etc/ca.pem');
  });

  it('parses brokers, the server URL and its database', () => {
    const config = loadConfig({
      MODELWATCH_KAFKA_BROKERS: 'k1:9092, k2:9093',
      MODELWATCH_CLICKHOUSE_URL: 'http://user:pw@ch:8123/monitoring',
      MODELWATCH_TOPIC_PREDICTIONS: 'preds',
    });
    expect(config.kafka.brokers).toEqual(['k1:9092', 'k2:9093']);
    expect(config.clickhouse.database).toBe('monitoring');
    expect(config.topics.predictions).toBe('preds');
  });

  it('names the variable and the value in one line when a value is wrong', () => {
    const message = configError({ MODELWATCH_API_PORT: 'eighty' });
    expect(message).toContain("MODELWATCH_API_PORT: expected a port number (got 'eighty')");
    expect(message).not.toContain('\n');
    expect(configError({ MODELWATCH_API_PORT: '70000' })).toContain(
      'MODELWATCH_API_PORT: expected a port from 1 to 65535',
    );
    expect(configError({ MODELWATCH_KAFKA_BROKERS: 'no-port-here' })).toContain(
      'MODELWATCH_KAFKA_BROKERS: expected host:port',
    );
    expect(configError({ MODELWATCH_CLICKHOUSE_URL: 'ftp://x' })).toContain('MODELWATCH_CLICKHOUSE_URL');
    expect(configError({ MODELWATCH_CLICKHOUSE_URL: 'not a url' })).toContain('expected an http(s) URL');
    // The URL's database is named in SQL unquoted, like MODELWATCH_CLICKHOUSE_DATABASE.
    for (const path of ['my-db', 'a%20b', 'x/y', '%E0%A4%A'])
      expect(configError({ MODELWATCH_CLICKHOUSE_URL: `http://ch:8123/${path}` }), path).toContain(
        'MODELWATCH_CLICKHOUSE_URL: expected the database in the URL path to be a plain identifier',
      );
    expect(configError({ MODELWATCH_CLICKHOUSE_DATABASE: 'my-db' })).toContain(
      'MODELWATCH_CLICKHOUSE_DATABASE: expected a plain identifier',
    );
    expect(configError({ MODELWATCH_LOG_LEVEL: 'loud' })).toContain('MODELWATCH_LOG_LEVEL');
  });

  it('refuses two topic variables naming one topic, and an audit group that is the ingest group, naming both', () => {
    expect(configError({ MODELWATCH_TOPIC_DLQ: 'ml.predictions' })).toContain(
      "MODELWATCH_TOPIC_DLQ: the same topic as MODELWATCH_TOPIC_PREDICTIONS: each topic needs its own name (got 'ml.predictions')",
    );
    expect(configError({ MODELWATCH_TOPIC_LABELS: 'ml.predictions' })).toContain(
      'MODELWATCH_TOPIC_LABELS: the same topic as MODELWATCH_TOPIC_PREDICTIONS',
    );
    // The defaulted one is named too: the predictions topic moved onto the labels' default name.
    expect(configError({ MODELWATCH_TOPIC_PREDICTIONS: 'ml.labels' })).toContain(
      'MODELWATCH_TOPIC_LABELS: the same topic as MODELWATCH_TOPIC_PREDICTIONS',
    );
    expect(configError({ MODELWATCH_TOPIC_AUDIT: 'ml.access-log' })).toContain(
      'MODELWATCH_TOPIC_AUDIT: the same topic as MODELWATCH_TOPIC_ACCESS_LOG',
    );
    const both = configError({
      MODELWATCH_TOPIC_RETRAIN: ' ml.audit-digests ',
      MODELWATCH_TOPIC_AUDIT: 'ml.dead-letter',
    });
    expect(both).toContain('MODELWATCH_TOPIC_AUDIT_DIGESTS: the same topic as MODELWATCH_TOPIC_RETRAIN');
    expect(both).toContain('MODELWATCH_TOPIC_AUDIT: the same topic as MODELWATCH_TOPIC_DLQ');
    expect(
      configError({ MODELWATCH_CONSUMER_GROUP: 'mw', MODELWATCH_AUDIT_CONSUMER_GROUP: ' mw ' }),
    ).toContain(
      "MODELWATCH_AUDIT_CONSUMER_GROUP: the same group as MODELWATCH_CONSUMER_GROUP: the audit consumer needs a group of its own (got ' mw ')",
    );
    expect(configError({ MODELWATCH_AUDIT_CONSUMER_GROUP: 'modelwatch' })).toContain(
      'MODELWATCH_AUDIT_CONSUMER_GROUP: the same group as MODELWATCH_CONSUMER_GROUP',
    );
    const distinct = loadConfig({
      MODELWATCH_TOPIC_DLQ: 'ml.dlq',
      MODELWATCH_AUDIT_CONSUMER_GROUP: 'mw-audit',
    });
    expect([distinct.topics.deadLetter, distinct.audit.consumerGroup]).toEqual(['ml.dlq', 'mw-audit']);
  });

  it('checks variables that only make sense together', () => {
    expect(configError({ MODELWATCH_KAFKA_SASL_MECHANISM: 'plain' })).toContain(
      'MODELWATCH_KAFKA_SASL_USERNAME',
    );
    // Credentials without a mechanism left SASL off: start-up then retried forever as "unreachable".
    expect(
      configError({ MODELWATCH_KAFKA_SASL_USERNAME: 'svc', MODELWATCH_KAFKA_SASL_PASSWORD: 'pw' }),
    ).toContain(
      'MODELWATCH_KAFKA_SASL_MECHANISM: not set, and MODELWATCH_KAFKA_SASL_USERNAME and MODELWATCH_KAFKA_SASL_PASSWORD need it: plain, scram-sha-256 or scram-sha-512',
    );
    const passwordAlone = configError({ MODELWATCH_KAFKA_SASL_PASSWORD: 'S3cretPw' });
    expect(passwordAlone).toContain(
      'MODELWATCH_KAFKA_SASL_MECHANISM: not set, and MODELWATCH_KAFKA_SASL_PASSWORD needs it',
    );
    expect(passwordAlone).not.toContain('S3cretPw');
    expect(
      loadConfig({
        MODELWATCH_KAFKA_SASL_MECHANISM: 'scram-sha-512',
        MODELWATCH_KAFKA_SASL_USERNAME: 'svc',
        MODELWATCH_KAFKA_SASL_PASSWORD: 'pw',
      }).kafka.sasl,
    ).toEqual({ mechanism: 'scram-sha-512', username: 'svc', password: 'pw' });
    expect(configError({ MODELWATCH_CLICKHOUSE_CLUSTER: 'c1' })).toContain(
      'MODELWATCH_CLICKHOUSE_CLUSTER: a cluster needs a server',
    );
  });

  it('reads numbers in decimal digits only (Number() also read hexadecimal, binary, octal and exponents)', () => {
    expect(loadConfig({ MODELWATCH_API_PORT: '8081' }).api.port).toBe(8081);
    expect(loadConfig({ MODELWATCH_API_PORT: ' 09090 ' }).api.port).toBe(9090);
    expect(loadConfig({ MODELWATCH_BATCH_MAX_ROWS: '10000' }).ingest.batchMaxRows).toBe(10_000);
    expect(loadConfig({ MODELWATCH_RETRAIN_PUBLISH_DELAY_MS: '0' }).retrain.publishDelayMs).toBe(0);
    expect(loadConfig({ MODELWATCH_RATE_LIMIT_COMPUTED_PER_KEY: '12' }).api.rateLimits.computedPerKey).toBe(
      12,
    );
    for (const bad of ['0x1F90', '0b110', '0o17', '1e4', '8_080', '+8080', '8080.0', '0x1f90 '])
      expect(configError({ MODELWATCH_API_PORT: bad }), bad).toContain(
        `MODELWATCH_API_PORT: expected a port number (got '${bad}')`,
      );
    const numbers = {
      MODELWATCH_BATCH_MAX_ROWS: '1e4',
      MODELWATCH_TOPIC_PARTITIONS: '0x6',
      MODELWATCH_RATE_LIMIT_COMPUTED_PER_KEY: '0b110',
      MODELWATCH_RETRAIN_PUBLISH_DELAY_MS: '1E3',
      MODELWATCH_KAFKA_DEBUG_RING: '-1',
    };
    const message = configError(numbers);
    for (const [name, value] of Object.entries(numbers))
      expect(message).toContain(`${name}: expected a whole number in decimal digits (got '${value}')`);
    expect(configError({ MODELWATCH_BATCH_MAX_ROWS: '99999999999999999999' })).toContain(
      'MODELWATCH_BATCH_MAX_ROWS',
    );
  });

  it('reports every bad variable at once', () => {
    const message = configError({ MODELWATCH_API_PORT: 'x', MODELWATCH_BATCH_MAX_ROWS: '-5' });
    expect(message).toContain('MODELWATCH_API_PORT');
    expect(message).toContain('MODELWATCH_BATCH_MAX_ROWS');
  });

  it('parses the ingest limits and the future skew as a duration', () => {
    expect(loadConfig({}).ingest).toMatchObject({
      maxFutureSkewMs: 86_400_000,
      maxFeatures: 1_000,
      maxFeatureNameLength: 256,
    });
    const set = loadConfig({
      MODELWATCH_MAX_FUTURE_SKEW: '90m',
      MODELWATCH_MAX_FEATURES: '50',
      MODELWATCH_MAX_FEATURE_NAME_LENGTH: '64',
    });
    expect(set.ingest).toMatchObject({
      maxFutureSkewMs: 5_400_000,
      maxFeatures: 50,
      maxFeatureNameLength: 64,
    });
    expect(loadConfig({ MODELWATCH_MAX_FUTURE_SKEW: '250ms' }).ingest.maxFutureSkewMs).toBe(250);
    expect(loadConfig({ MODELWATCH_MAX_FUTURE_SKEW: '0s' }).ingest.maxFutureSkewMs).toBe(0);
    expect(loadConfig({ MODELWATCH_MAX_FUTURE_SKEW: '3650d' }).ingest.maxFutureSkewMs).toBe(
      3650 * 86_400_000,
    );
    for (const bad of ['1 day', '1y', '-1d', '1.5h', 'Infinity', '3651d', '99999999999d', '0.5s']) {
      expect(configError({ MODELWATCH_MAX_FUTURE_SKEW: bad }), bad).toContain(
        'MODELWATCH_MAX_FUTURE_SKEW: expected a duration',
      );
    }
    expect(configError({ MODELWATCH_MAX_FEATURES: '0' })).toContain(
      'MODELWATCH_MAX_FEATURES: expected a number above 0',
    );
    expect(configError({ MODELWATCH_MAX_FEATURES: '1e999' })).toContain('MODELWATCH_MAX_FEATURES');
  });

  it('bounds ingest batches in bytes, refusing values that are not a whole number of bytes', () => {
    expect(loadConfig({}).ingest.batchMaxBytes).toBe(8 * 1_048_576);
    expect(loadConfig({ MODELWATCH_BATCH_MAX_BYTES: '1048576' }).ingest.batchMaxBytes).toBe(1_048_576);
    for (const bad of ['0', '-1', '1.5', 'Infinity', '1e999', '2000000000', 'x'.repeat(10_000)])
      expect(configError({ MODELWATCH_BATCH_MAX_BYTES: bad }), bad.slice(0, 20)).toContain(
        'MODELWATCH_BATCH_MAX_BYTES',
      );
  });

  it('bounds the segment reads at 256 MiB unless told otherwise, in whole bytes', () => {
    expect(loadConfig({}).segments.maxMemoryBytes).toBe(268_435_456);
    expect(loadConfig({ MODELWATCH_SEGMENTS_MAX_MEMORY_BYTES: '1048576' }).segments.maxMemoryBytes).toBe(
      1_048_576,
    );
    for (const bad of ['0', '-1', '1.5', '1e999', 'x'])
      expect(configError({ MODELWATCH_SEGMENTS_MAX_MEMORY_BYTES: bad }), bad).toContain(
        'MODELWATCH_SEGMENTS_MAX_MEMORY_BYTES',
      );
  });

  it('writes two ingest batches at a time unless told otherwise, at most 8', () => {
    expect(loadConfig({}).ingest.batchMaxInFlight).toBe(2);
    expect(loadConfig({ MODELWATCH_BATCH_MAX_IN_FLIGHT: '1' }).ingest.batchMaxInFlight).toBe(1);
    for (const bad of ['0', '9', '1.5', 'two'])
      expect(configError({ MODELWATCH_BATCH_MAX_IN_FLIGHT: bad }), bad).toContain(
        'MODELWATCH_BATCH_MAX_IN_FLIGHT',
      );
  });

  it("releases the engine library's start-up pages unless told not to", () => {
    expect(loadConfig({}).clickhouse.releaseStartupPages).toBe(true);
    expect(
      loadConfig({ MODELWATCH_CLICKHOUSE_RELEASE_STARTUP_PAGES: 'false' }).clickhouse.releaseStartupPages,
    ).toBe(false);
    expect(configError({ MODELWATCH_CLICKHOUSE_RELEASE_STARTUP_PAGES: 'sometimes' })).toContain(
      'MODELWATCH_CLICKHOUSE_RELEASE_STARTUP_PAGES',
    );
  });

  it('releases them again every 10 s by default, or as often as told', () => {
    expect(loadConfig({}).clickhouse.releasePagesEveryMs).toBe(10_000);
    expect(
      loadConfig({ MODELWATCH_CLICKHOUSE_RELEASE_PAGES_EVERY_MS: '60000' }).clickhouse.releasePagesEveryMs,
    ).toBe(60_000);
    expect(configError({ MODELWATCH_CLICKHOUSE_RELEASE_PAGES_EVERY_MS: '0' })).toContain(
      'MODELWATCH_CLICKHOUSE_RELEASE_PAGES_EVERY_MS',
    );
  });
});
