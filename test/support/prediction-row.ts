/**
 * Reads the collectors' RowBinary `predictions` rows back (src/collectors/rows.ts), written
 * independently of the writer: the tests check the bytes against what they must mean.
 */
export class RowBinaryReader {
  at = 0;
  constructor(private readonly bytes: Buffer) {}

  get done(): boolean {
    return this.at === this.bytes.length;
  }

  private need(n: number): void {
    if (this.at + n > this.bytes.length)
      throw new Error(`row ends early at byte ${this.at} (needs ${n} more)`);
  }

  varUInt(): number {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      this.need(1);
      const byte = this.bytes[this.at++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
  }

  uint8(): number {
    this.need(1);
    return this.bytes[this.at++]!;
  }

  int64(): bigint {
    this.need(8);
    const value = this.bytes.readBigInt64LE(this.at);
    this.at += 8;
    return value;
  }

  float64(): number {
    this.need(8);
    const value = this.bytes.readDoubleLE(this.at);
    this.at += 8;
    return value;
  }

  nullableFloat64(): number | null {
    return this.uint8() === 1 ? null : this.float64();
  }

  string(): string {
    const length = this.varUInt();
    this.need(length);
    const text = this.bytes.toString('utf8', this.at, this.at + length);
    this.at += length;
    return text;
  }

  /** A Map as its pairs, in their order (duplicates kept). */
  map<V>(value: () => V): [string, V][] {
    const size = this.varUInt();
    return Array.from({ length: size }, () => [this.string(), value()] as [string, V]);
  }
}

export interface PredictionRow {
  model_id: string;
  model_version: string;
  prediction_id: string;
  timestamp: bigint;
  features_num: [string, number][];
  features_str: [string, string][];
  prediction: string;
  prediction_num: number | null;
  score: number | null;
  probabilities: [string, number][];
  latency_ms: number | null;
  is_error: number;
  entity_id: string;
  request_id: string;
  tags: [string, string][];
}

/** One row from `reader`, in PREDICTION_ROW's column order. */
export function readPredictionRow(reader: RowBinaryReader): PredictionRow {
  return {
    model_id: reader.string(),
    model_version: reader.string(),
    prediction_id: reader.string(),
    timestamp: reader.int64(),
    features_num: reader.map(() => reader.float64()),
    features_str: reader.map(() => reader.string()),
    prediction: reader.string(),
    prediction_num: reader.nullableFloat64(),
    score: reader.nullableFloat64(),
    probabilities: reader.map(() => reader.float64()),
    latency_ms: reader.nullableFloat64(),
    is_error: reader.uint8(),
    entity_id: reader.string(),
    request_id: reader.string(),
    tags: reader.map(() => reader.string()),
  };
}

/** The one row a buffer holds; throws when bytes are left over. */
export function predictionRowOf(bytes: Buffer): PredictionRow {
  const reader = new RowBinaryReader(bytes);
  const row = readPredictionRow(reader);
  if (!reader.done) throw new Error(`${bytes.length - reader.at} bytes left after the row`);
  return row;
}
