import { describe, expect, it } from 'vitest';
import { deadLetterMessage, letterSource } from '../../../src/collectors/dead-letter.js';

describe('letterSource', () => {
  const letter = deadLetterMessage({
    source: {
      topic: 'ml.predictions',
      partition: 2,
      offset: '41',
      message: {
        key: null,
        value: Buffer.from('{'),
        headers: { trace: 'x' },
        offset: '41',
        timestamp: '0',
        attributes: 0,
      },
    },
    reason: 'invalid_json',
    detail: 'Unexpected end of JSON input',
  });

  it('names the source message of a letter as sent and as read back (Buffer headers)', () => {
    expect(letterSource(letter)).toBe('ml.predictions/2/41');
    const readBack = Object.fromEntries(
      Object.entries(letter.headers ?? {}).map(([name, value]) => [name, Buffer.from(String(value))]),
    );
    expect(letterSource({ headers: readBack })).toBe('ml.predictions/2/41');
  });

  it('is undefined for a message that is not a letter', () => {
    expect(letterSource({ headers: { 'modelwatch-source-topic': 't' } })).toBeUndefined();
    expect(letterSource({})).toBeUndefined();
  });
});
