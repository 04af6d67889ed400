import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/platform/config/index.js';
import { createLogger, logFormat, StatusLine } from '../../../src/platform/observability/index.js';

describe('console log format', () => {
  it('is readable on a terminal and JSON elsewhere, unless MODELWATCH_LOG_FORMAT says', () => {
    expect(loadConfig({}).logFormat).toBeUndefined();
    expect(logFormat(undefined, true)).toBe('pretty');
    expect(logFormat(undefined, false)).toBe('json');
    expect(logFormat(loadConfig({ MODELWATCH_LOG_FORMAT: 'json' }).logFormat, true)).toBe('json');
    expect(logFormat(loadConfig({ MODELWATCH_LOG_FORMAT: 'pretty' }).logFormat, false)).toBe('pretty');
    // Blank is unset, as for every variable.
    expect(loadConfig({ MODELWATCH_LOG_FORMAT: '' }).logFormat).toBeUndefined();
  });

  it.each(['xml', 'JSON', 'pretty '.repeat(1000)])('refuses MODELWATCH_LOG_FORMAT=%j naming it', (value) => {
    expect(() => loadConfig({ MODELWATCH_LOG_FORMAT: value })).toThrow(
      /MODELWATCH_LOG_FORMAT: expected json or pretty/,
    );
  });

  it('writes pretty lines above the progress line, one line per record', () => {
    const written: string[] = [];
    const status = new StatusLine({ isTTY: true, write: (t: string) => written.push(t) });
    status.update('simulated 2021-01-01');
    const logger = createLogger('info', { format: 'pretty', status });
    logger.info({ model: 'california' }, 'drift reference set');
    logger.debug('not shown at info');
    expect(written).toHaveLength(2);
    const line = written[1]!;
    expect(line.startsWith('\r\x1b[K')).toBe(true);
    expect(line).toMatch(/INFO.*drift reference set.*"model":"california"/);
    expect(line).not.toContain('{"level"');
    // The record is one line, then the progress line is drawn again.
    expect(line.endsWith('\nsimulated 2021-01-01')).toBe(true);
    expect(line.split('\n')).toHaveLength(2);
  });
});
