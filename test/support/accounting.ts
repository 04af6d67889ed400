import { expect } from 'vitest';
import type { TopicMessage } from './cluster.js';

export interface Accounting {
  kind: string;
  expected: number;
  /** Messages in the topic with a known id (a resent message counts each time). */
  messages: number;
  distinctInTopic: number;
  /** Ids the producer was given that are not in the topic at all: lost before the broker. */
  missingFromTopic: string[];
  /** Ids in the topic that ClickHouse does not hold: lost by the consumer. */
  notStored: string[];
  /** Where the missing ones were in the publishing order (chunk number), and the not-stored offsets. */
  where: string[];
}

function idOf(message: TopicMessage): string | undefined {
  try {
    const value = JSON.parse(message.value?.toString() ?? '') as { prediction_id?: unknown };
    return typeof value.prediction_id === 'string' ? value.prediction_id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Splits a loss between the two places it can happen: ids that never reached the topic (the
 * producer lost them) and ids in the topic that were not stored (the consumer lost them), so a
 * failing fault test says which side to look at.
 */
export function account(
  kind: string,
  /** Ids in publishing order (undefined: a message without one, e.g. poison). */
  published: readonly (string | undefined)[],
  chunk: number,
  topic: readonly TopicMessage[],
  stored: ReadonlySet<string>,
): Accounting {
  const positions = new Map<string, string[]>();
  for (const m of topic) {
    const id = idOf(m);
    if (id === undefined) continue;
    positions.set(id, [...(positions.get(id) ?? []), `${m.partition}/${m.offset}`]);
  }
  const missingFromTopic: string[] = [];
  const where: string[] = [];
  published.forEach((id, index) => {
    if (id === undefined || positions.has(id)) return;
    missingFromTopic.push(id);
    where.push(`${id}@chunk${Math.floor(index / chunk)}`);
  });
  const notStored = [...positions.keys()].filter((id) => !stored.has(id));
  for (const id of notStored) where.push(`${id}@p${(positions.get(id) ?? []).join(',p')}`);
  return {
    kind,
    expected: published.filter((id) => id !== undefined).length,
    messages: [...positions.values()].reduce((n, p) => n + p.length, 0),
    distinctInTopic: positions.size,
    missingFromTopic,
    notStored,
    where,
  };
}

export function reportAccounting(a: Accounting): void {
  const chunks = new Map<string, number>();
  for (const w of a.where) {
    const at = w.split('@')[1] ?? '';
    chunks.set(at, (chunks.get(at) ?? 0) + 1);
  }
  console.log(
    `[fault accounting] ${a.kind}: published ${a.expected}, in the topic ${a.distinctInTopic} distinct ` +
      `(${a.messages} messages), missing from the topic ${a.missingFromTopic.length}, ` +
      `in the topic but not stored ${a.notStored.length}` +
      (chunks.size > 0 ? `; by place: ${JSON.stringify(Object.fromEntries(chunks))}` : ''),
  );
}

export function expectNothingLost(a: Accounting): void {
  expect(a.missingFromTopic.slice(0, 20), `${a.kind} the producer lost (never in the topic)`).toEqual([]);
  expect(a.notStored.slice(0, 20), `${a.kind} in the topic but not stored (consumer loss)`).toEqual([]);
}
