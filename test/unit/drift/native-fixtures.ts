/** Native result bytes as ClickHouse writes them, for the readers' tests. */
/** A Native block as ClickHouse writes it: varint columns, varint rows, then per column name, type, data. */
export function block(columns: [string, string, Buffer][], rows: number): Buffer {
  const str = (s: string) => Buffer.concat([Buffer.from([Buffer.byteLength(s)]), Buffer.from(s)]);
  return Buffer.concat([
    Buffer.from([columns.length, rows]),
    ...columns.flatMap(([n, t, d]) => [str(n), str(t), d]),
  ]);
}
export const u64 = (...v: number[]) =>
  Buffer.concat(
    v.map((x) => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(BigInt(x));
      return b;
    }),
  );
export const f64 = (...v: number[]) =>
  Buffer.concat(
    v.map((x) => {
      const b = Buffer.alloc(8);
      b.writeDoubleLE(x);
      return b;
    }),
  );

/** A varint as Native headers write counts. */
export function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    out.push((n & 0x7f) | (n >= 0x80 ? 0x80 : 0));
    n = Math.floor(n / 128);
  } while (n > 0);
  return Buffer.from(out);
}

/** One block, an Array(Float64) column `name` first (row k holds k + 1 values), then a String column. */
export function floatsFirst(name: string, rows: number): { bytes: Buffer; values: number[][] } {
  const values = Array.from({ length: rows }, (_, k) => Array.from({ length: k + 1 }, (_, i) => k + i / 8));
  const ends: number[] = [];
  values.reduce((end, v) => (ends.push(end + v.length), end + v.length), 0);
  const str = (t: string) => Buffer.concat([varint(Buffer.byteLength(t)), Buffer.from(t)]);
  const bytes = Buffer.concat([
    varint(2),
    varint(rows),
    str(name),
    str('Array(Float64)'),
    u64(...ends),
    f64(...values.flat()),
    str('column'),
    str('String'),
    ...values.map((_, k) => str(`c${k}`)),
  ]);
  return { bytes, values };
}
