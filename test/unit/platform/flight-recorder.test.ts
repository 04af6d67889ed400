import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KafkaFlightRecorder } from '../../../src/platform/kafka/flight-recorder.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('the kafkajs flight recorder', () => {
  it('keeps the last entries up to its capacity, oldest first, with their times and fields', () => {
    let now = Date.parse('2026-12-02T10:00:00.000Z');
    const recorder = new KafkaFlightRecorder(3, () => now);
    for (let i = 0; i < 5; i++) {
      recorder.record('ConsumerGroup', 5, { message: `entry ${i}`, groupId: 'g' });
      now += 1_000;
    }
    const entries = recorder.snapshot();
    expect(entries.map((e) => e.message)).toEqual(['entry 2', 'entry 3', 'entry 4']);
    expect(entries[0]).toEqual({
      at: '2026-12-02T10:00:02.000Z',
      namespace: 'ConsumerGroup',
      level: 5,
      message: 'entry 2',
      groupId: 'g',
    });
  });

  it('leaves out fetch requests and responses, and keeps every other request', () => {
    const recorder = new KafkaFlightRecorder(10);
    recorder.record('Connection', 5, { message: 'Request Fetch(key: 1, version: 11)' });
    recorder.record('Connection', 5, { message: 'Response Fetch(key: 1, version: 11)' });
    recorder.record('Connection', 5, { message: 'Request OffsetCommit(key: 8, version: 5)' });
    expect(recorder.snapshot().map((e) => e.message)).toEqual(['Request OffsetCommit(key: 8, version: 5)']);
  });

  it('dumps what it kept as JSON lines after a header with the reason, at most 5 files', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'recorder-'));
    dirs.push(dir);
    const recorder = new KafkaFlightRecorder(4);
    recorder.record('OffsetManager', 4, { message: 'NOT_COORDINATOR', broker: '127.0.0.1:1' });
    const file = await recorder.dump('g: no offset commit confirmed', dir);
    const lines = readFileSync(file ?? '', 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    expect(lines[0]).toEqual({ reason: 'g: no offset commit confirmed', entries: 1 });
    expect(lines[1]).toMatchObject({ namespace: 'OffsetManager', message: 'NOT_COORDINATOR' });
    for (let i = 0; i < 4; i++) expect(await recorder.dump('again', dir)).toBeDefined();
    expect(await recorder.dump('once too often', dir)).toBeUndefined();
  });
});
