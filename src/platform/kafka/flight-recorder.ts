import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { errorMessage } from '../errors.js';
import type { Logger } from '../observability/index.js';

export interface RecordedEntry {
  at: string;
  namespace: string;
  level: number;
  message: string;
  [field: string]: unknown;
}

/**
 * The last kafkajs log entries at every level, DEBUG included, kept in memory and written to a
 * file only when something goes wrong (a commit stall): the exact sequence of coordinator
 * lookups, commits and heartbeats before it, which the INFO log does not have and a DEBUG log
 * of a whole fault run buries (issue 13). Fetch requests and responses are not kept: they are
 * most of the entries and say nothing about the group.
 */
export class KafkaFlightRecorder {
  private readonly entries: (RecordedEntry | undefined)[];
  private next = 0;
  private dumps = 0;

  /** @param capacity entries kept; the oldest are overwritten */
  constructor(
    readonly capacity: number,
    private readonly now: () => number = Date.now,
  ) {
    this.entries = new Array<RecordedEntry | undefined>(capacity);
  }

  record(namespace: string, level: number, log: { message: string; [field: string]: unknown }): void {
    if (/^(Request|Response) Fetch\(/.test(log.message)) return;
    this.entries[this.next] = { at: new Date(this.now()).toISOString(), namespace, level, ...log };
    this.next = (this.next + 1) % this.capacity;
  }

  /** The entries kept, oldest first. */
  snapshot(): RecordedEntry[] {
    const older = this.entries.slice(this.next);
    const newer = this.entries.slice(0, this.next);
    return [...older, ...newer].filter((e): e is RecordedEntry => e !== undefined);
  }

  /**
   * Writes the entries kept (JSON lines) to a new file and resolves with its path: under
   * `dir` (@default the system's temporary folder). At most 5 files per process.
   */
  async dump(reason: string, dir = tmpdir()): Promise<string | undefined> {
    if (this.dumps >= 5) return undefined;
    this.dumps += 1;
    const stamp = new Date(this.now()).toISOString().replaceAll(':', '-');
    const file = path.join(dir, `modelwatch-kafkajs-${process.pid}-${stamp}.jsonl`);
    const header = JSON.stringify({ reason, entries: this.snapshot().length });
    await writeFile(file, [header, ...this.snapshot().map((e) => JSON.stringify(e))].join('\n') + '\n');
    return file;
  }
}

const recorders = new WeakMap<Kafka, KafkaFlightRecorder>();

/** The recorder of a client made by `createKafka` with a debug ring, if any. */
export function flightRecorderOf(kafka: Kafka): KafkaFlightRecorder | undefined {
  return recorders.get(kafka);
}

export function attachFlightRecorder(kafka: Kafka, recorder: KafkaFlightRecorder): void {
  recorders.set(kafka, recorder);
}

/**
 * kafkajs' own account of a stall, when `kafka` keeps its DEBUG entries
 * (MODELWATCH_KAFKA_DEBUG_RING): written to a file whose path is logged. Does nothing otherwise.
 */
export function writeKafkaDebug(kafka: Kafka, logger: Logger, reason: string): void {
  void flightRecorderOf(kafka)
    ?.dump(reason)
    .then((file) => file && logger.warn({ file, reason }, 'kafkajs debug entries written'))
    .catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'kafkajs debug entries not written'));
}
