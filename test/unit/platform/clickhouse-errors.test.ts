import { ClickHouseError } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { classifyWriteError, clickhouseCode, isDataError } from '../../../src/platform/clickhouse/index.js';
import { isRetryable, ModelwatchError } from '../../../src/platform/errors.js';

const server = (code: string, type: string) =>
  new ClickHouseError({ message: `${type} happened`, code, type });
/** chdb's raw insert error: the code is a number in `clickhouseCode`, `code` is chdb's own text. */
const embedded = (clickhouseCode: number) =>
  Object.assign(new Error(`Code: ${clickhouseCode}. DB::Exception: …`), {
    code: 'CHDB_INSERT',
    clickhouseCode,
  });

describe('ClickHouse write errors', () => {
  it('reads the numeric code from the server client and from chdb', () => {
    expect(clickhouseCode(server('25', 'CANNOT_PARSE_ESCAPE_SEQUENCE'))).toBe(25);
    expect(clickhouseCode(embedded(27))).toBe(27);
    expect(
      clickhouseCode(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
    ).toBeUndefined();
    expect(clickhouseCode('text')).toBeUndefined();
  });

  it('refuses data errors for good and retries everything else', () => {
    for (const err of [
      server('25', 'CANNOT_PARSE_ESCAPE_SEQUENCE'),
      server('6', 'CANNOT_PARSE_TEXT'),
      embedded(53),
      embedded(27),
    ]) {
      expect(isDataError(err)).toBe(true);
      const typed = classifyWriteError(err, 'insert into labels');
      expect(typed).toMatchObject({ code: 'CLICKHOUSE_REJECTED', retryable: false });
      expect(typed.message).toMatch(/^insert into labels: .* \(code \d+\)$/);
      expect(isRetryable(typed)).toBe(false);
    }
    // Unknown table (DETACH), too many parts (merges behind), network: a retry may pass.
    for (const err of [
      server('60', 'UNKNOWN_TABLE'),
      embedded(60),
      server('252', 'TOO_MANY_PARTS'),
      new Error('socket hang up'),
    ]) {
      expect(isDataError(err)).toBe(false);
      expect(classifyWriteError(err, 'insert')).toMatchObject({
        code: 'CLICKHOUSE_UNAVAILABLE',
        retryable: true,
      });
    }
  });

  it('treats any error it cannot classify as retryable, so nothing is dropped', () => {
    expect(isRetryable(new Error('?'))).toBe(true);
    expect(isRetryable('a string')).toBe(true);
    expect(isRetryable(new ModelwatchError('KAFKA_UNAVAILABLE', 'down', true))).toBe(true);
    expect(isRetryable(new ModelwatchError('CLICKHOUSE_REJECTED', 'bad row', false))).toBe(false);
  });
});
