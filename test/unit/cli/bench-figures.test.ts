import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALL_BENCHES, formatFigures } from '../../../src/cli/commands/bench-figures.js';

/** What each benchmark printed in one real run of `modelwatch bench` (2026-12-02, this machine). */
const outputs = JSON.parse(
  readFileSync(new URL('../../fixtures/bench/outputs.json', import.meta.url), 'utf8'),
) as Record<string, string>;
const parse = (name: string, out = outputs[name]!) => ALL_BENCHES.find((b) => b.name === name)!.parse(out);

describe('bench without a name: figures beside their same-run baselines', () => {
  it('runs ingest, metrics, drift and shadow', () => {
    expect(ALL_BENCHES.map((b) => b.name)).toEqual(['ingest', 'metrics', 'drift', 'shadow']);
  });

  it('reads rates and pairs them with the bare consumer and the core alone', () => {
    const [ingest] = parse('ingest');
    expect(ingest).toMatchObject({
      value: 2877,
      unit: 'events/s',
      baseline: { value: 32083 },
      higherIsBetter: true,
    });
    expect(ingest!.ratio).toBeCloseTo(2877 / 32083, 12);
    const [shadow] = parse('shadow');
    expect(shadow).toMatchObject({ value: 8303, baseline: { name: 'inference core alone', value: 6693617 } });
  });

  it("reads the metrics and drift JSON reports, each offline run beside its own format's parse", () => {
    const metrics = parse('metrics');
    expect(metrics.map((f) => [f.value, f.baseline.value])).toEqual([
      [0.949, 0.094],
      [0.638, 0.094],
      [1.177, 0.351],
      [1.288, 0.351],
    ]);
    const drift = parse('drift');
    expect(drift).toHaveLength(8);
    expect(
      drift.every((f) => f.unit === 's' && !f.higherIsBetter && f.value > 0 && f.baseline.value > 0),
    ).toBe(true);
    const parquet = drift.find((f) => f.figure.includes('(parquet)'))!;
    expect(parquet.baseline.name).toContain('parquet');
  });

  it('says what is missing from an output it cannot read', () => {
    expect(() => parse('ingest', 'producing…\n')).toThrow('no pipeline rate in the output');
    expect(() => parse('metrics', 'no json here')).toThrow('no JSON report line');
    expect(() => parse('drift', '{"rows":1}')).toThrow('no service figures');
  });

  it('prints one table with the failures listed after it', () => {
    const table = formatFigures(parse('shadow'), [{ bench: 'ingest', error: 'exit 1: broker unreachable' }]);
    expect(table.split('\n')[0]).toMatch(/^bench +figure +value +same-run baseline +baseline +ratio$/);
    expect(table).toContain('8,303 rows/s');
    expect(table).toContain('0.0012×');
    expect(table).toContain('ingest: FAILED — exit 1: broker unreachable');
  });
});
