import { describe, expect, it } from 'vitest';
import { CommitTracker, kafkaErrorType } from '../../../src/platform/kafka/commit-tracker.js';

const at = (entries: [string, number, number][]) =>
  new Map(entries.map(([topic, partition, offset]) => [`${topic}\0${partition}`, BigInt(offset)]));

function tracker() {
  let now = 1_000;
  const t = new CommitTracker(() => now);
  return { t, advance: (ms: number) => (now += ms) };
}

/** kafkajs' shape: its retrier wraps the protocol error (with `type`) as `cause`. */
const exhausted = (type: string) =>
  Object.assign(new Error('KafkaJSNumberOfRetriesExceeded'), {
    cause: Object.assign(new Error(type), { type }),
  });

describe('CommitTracker', () => {
  it('measures how long commits have been refused by a former coordinator, until one is confirmed', () => {
    const { t, advance } = tracker();
    t.add(at([['p', 0, 9]]));
    t.commitFailed(exhausted('REQUEST_TIMED_OUT'));
    expect(t.refusedFor()).toBe(0);
    t.commitFailed(exhausted('NOT_COORDINATOR_FOR_GROUP'));
    advance(6_000);
    t.commitFailed(exhausted('NOT_COORDINATOR_FOR_GROUP'));
    advance(5_000);
    // Counted from the first refusal, not the last.
    expect(t.refusedFor()).toBe(11_000);
    t.confirmed([{ topic: 'p', partitions: [{ partition: 0, offset: '10' }] }]);
    expect(t.refusedFor()).toBe(0);
    t.commitFailed(exhausted('NOT_COORDINATOR_FOR_GROUP'));
    advance(1_000);
    // A new member (restartClock) starts afresh.
    t.restartClock();
    expect(t.refusedFor()).toBe(0);
  });

  it('finds the protocol error type through the errors kafkajs wraps it in, and nothing in other values', () => {
    expect(kafkaErrorType(exhausted('NOT_COORDINATOR_FOR_GROUP'))).toBe('NOT_COORDINATOR_FOR_GROUP');
    expect(kafkaErrorType(Object.assign(new Error('x'), { type: 'UNKNOWN_MEMBER_ID' }))).toBe(
      'UNKNOWN_MEMBER_ID',
    );
    expect(kafkaErrorType(new Error('This is not the correct coordinator for this group'))).toBeUndefined();
    expect(kafkaErrorType('NOT_COORDINATOR_FOR_GROUP')).toBeUndefined();
    expect(kafkaErrorType(null)).toBeUndefined();
    const loop: { cause?: unknown } = {};
    loop.cause = loop;
    expect(kafkaErrorType(loop)).toBeUndefined();
  });

  it('says how long offsets waited for each confirmation (0 when none waited)', () => {
    const { t, advance } = tracker();
    expect(t.confirmed([{ topic: 'p', partitions: [{ partition: 0, offset: '1' }] }])).toBe(0);
    t.add(at([['p', 0, 9]]));
    advance(7_000);
    t.add(at([['p', 0, 19]]));
    advance(500);
    // The first offsets waited 7.5 s; the clock restarts for what is still unconfirmed.
    expect(t.confirmed([{ topic: 'p', partitions: [{ partition: 0, offset: '10' }] }])).toBe(7_500);
    advance(200);
    expect(t.confirmed([{ topic: 'p', partitions: [{ partition: 0, offset: '20' }] }])).toBe(200);
  });

  it('commits the next offset after the highest written one, per partition', () => {
    const { t } = tracker();
    t.add(
      at([
        ['p', 0, 9],
        ['p', 1, 4],
      ]),
    );
    t.add(at([['p', 0, 19]]));
    t.add(at([['p', 0, 12]]));
    expect(t.pending()).toEqual([
      { topic: 'p', partition: 0, offset: '20' },
      { topic: 'p', partition: 1, offset: '5' },
    ]);
  });

  it('forgets a partition only once the broker confirmed an offset past its highest write', () => {
    const { t } = tracker();
    t.add(
      at([
        ['p', 0, 19],
        ['p', 1, 4],
      ]),
    );
    t.confirmed([{ topic: 'p', partitions: [{ partition: 0, offset: '15' }] }]);
    expect(t.size).toBe(2);
    t.confirmed([
      {
        topic: 'p',
        partitions: [
          { partition: 0, offset: '20' },
          { partition: 1, offset: '5' },
        ],
      },
    ]);
    expect(t.size).toBe(0);
    expect(t.pending()).toEqual([]);
  });

  it('never commits an offset below one already confirmed (a batch read again after a rebuild)', () => {
    const { t } = tracker();
    t.add(at([['p', 0, 99]]));
    t.confirmed([{ topic: 'p', partitions: [{ partition: 0, offset: '100' }] }]);
    t.add(at([['p', 0, 49]]));
    expect(t.size, 'offset 49 is below the committed 100').toBe(0);
    t.add(at([['p', 0, 100]]));
    expect(t.pending()).toEqual([{ topic: 'p', partition: 0, offset: '101' }]);
  });

  it('drops the offsets and floors of partitions a rebalance took away', () => {
    const { t } = tracker();
    t.add(
      at([
        ['p', 0, 9],
        ['p', 1, 9],
        ['l', 0, 3],
      ]),
    );
    t.confirmed([{ topic: 'p', partitions: [{ partition: 1, offset: '5' }] }]);
    t.reassigned({ p: [0] });
    expect(t.pending()).toEqual([{ topic: 'p', partition: 0, offset: '10' }]);
    // Partition 1 came back: its old floor is gone, so a low offset counts again.
    t.reassigned({ p: [0, 1] });
    t.add(at([['p', 1, 2]]));
    expect(t.pending()).toContainEqual({ topic: 'p', partition: 1, offset: '3' });
  });

  it('ignores a batch that settles after its partition went to another member', () => {
    const { t } = tracker();
    t.add(at([['labels', 0, 50]]));
    t.reassigned({ labels: [1] });
    t.add(
      at([
        ['labels', 0, 99],
        ['labels', 1, 7],
      ]),
    );
    expect(t.pending()).toEqual([{ topic: 'labels', partition: 1, offset: '8' }]);
  });

  it('measures a stall from the oldest unconfirmed write, restarted by any confirmation, a rejoin and a paused commit', () => {
    const { t, advance } = tracker();
    expect(t.stalledFor()).toBe(0);
    t.add(at([['p', 0, 9]]));
    advance(10_000);
    t.add(at([['p', 0, 19]]));
    advance(5_000);
    expect(t.stalledFor(), 'from the first unconfirmed write').toBe(15_000);
    t.confirmed([{ topic: 'p', partitions: [{ partition: 0, offset: '10' }] }]);
    expect(t.stalledFor(), 'a partial confirmation is progress').toBe(0);
    advance(7_000);
    t.restartClock();
    expect(t.stalledFor()).toBe(0);
    advance(3_000);
    expect(t.stalledFor()).toBe(3_000);
    t.reassigned({ p: [0] });
    expect(t.stalledFor(), 'a new generation gets a full period').toBe(0);
    advance(2_000);
    t.confirmed([{ topic: 'p', partitions: [{ partition: 0, offset: '20' }] }]);
    advance(60_000);
    expect(t.stalledFor(), 'nothing waits').toBe(0);
  });

  it('keeps 64-bit offsets exact', () => {
    const { t } = tracker();
    t.add(at([['p', 0, 0]]));
    t.add(new Map([['p\u00000', 9_007_199_254_740_993n]]));
    expect(t.pending()).toEqual([{ topic: 'p', partition: 0, offset: '9007199254740994' }]);
  });
});
