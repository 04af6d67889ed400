import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { StateChange } from '../../../src/audit/index.js';
import { auditTriggers } from '../../../src/triggers/audit.js';
import { toPayload, type TriggerPayload } from '../../../src/triggers/engine/trigger.js';
import { PublisherTrail } from '../../../src/triggers/publish/trail.js';
import { TriggerAudits } from '../../../src/triggers/publish/trigger-audits.js';

const T0 = Date.UTC(2026, 2, 2);
const HOUR = 3_600_000;

const trigger = (model: string, hour = 0): TriggerPayload =>
  toPayload(
    {
      modelId: model,
      version: '1',
      reason: 'drift',
      start: T0 + hour * HOUR,
      end: T0 + (hour + 1) * HOUR,
      evidence: {},
    },
    { drift: { columns: ['a'] } },
    T0 + 5 * HOUR,
  );

/** The store's two audit calls over a list of delivered triggers, in memory. */
function fakeStore(delivered: TriggerPayload[]) {
  const audited = new Set<string>();
  return {
    audited,
    unaudited: () => Promise.resolve(delivered.filter((t) => !audited.has(t.trigger_id))),
    recordAudits: (ts: readonly Pick<TriggerPayload, 'trigger_id'>[]) => {
      for (const t of ts) audited.add(t.trigger_id);
      return Promise.resolve();
    },
  };
}

function setup(delivered: TriggerPayload[], audit: (p: TriggerPayload) => void) {
  const store = fakeStore(delivered);
  const trail = new PublisherTrail();
  const logs: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void logs.push(line) });
  return { store, trail, logs, audits: new TriggerAudits({ store, audit, logger, trail }) };
}

describe('auditing published triggers (at least once)', () => {
  it('records a trigger as audited only after its audit was acknowledged, and retries a failed one', async () => {
    const t = trigger('m');
    const sent: string[] = [];
    let blips = 1;
    const { store, trail, logs, audits } = setup([t], (p) => {
      if (blips-- > 0) throw new Error('the audit topic is unreachable');
      sent.push(p.trigger_id);
    });
    expect(await audits.audit(t)).toBe(false);
    expect(store.audited.size).toBe(0);
    expect(trail.snapshot().events.map((e) => e.event)).toEqual(['audit failed']);
    expect(logs.join('')).toContain(t.trigger_id);
    // The next pass audits the delivered, unaudited trigger; the one after finds nothing to do.
    await audits.auditMissed(() => true);
    await audits.auditMissed(() => true);
    expect(sent).toEqual([t.trigger_id]);
    expect([...store.audited]).toEqual([t.trigger_id]);
  });

  it("audits only its own partitions' triggers, and stops a pass at the first failure", async () => {
    const [mine, theirs, later] = [trigger('mine'), trigger('theirs'), trigger('mine', 1)];
    const sent: string[] = [];
    const attempted: string[] = [];
    let down = true;
    const { store, audits } = setup([mine, theirs, later], (p) => {
      attempted.push(p.trigger_id);
      if (down) throw new Error('the audit topic is unreachable');
      sent.push(p.model_id);
    });
    const owns = (p: TriggerPayload) => p.model_id === 'mine';
    await audits.auditMissed(owns);
    // One attempt while down: `later` (also its own) was not tried after `mine` failed.
    expect(attempted).toEqual([mine.trigger_id]);
    expect(sent).toEqual([]);
    down = false;
    await audits.auditMissed(owns);
    expect(sent).toEqual(['mine', 'mine']);
    expect(store.audited.has(theirs.trigger_id)).toBe(false);
  });

  it('counts a trigger once when its audit was sent but not recorded, and so sent again', async () => {
    const t = trigger('m');
    const sent: string[] = [];
    const counted: string[] = [];
    const store = fakeStore([t]);
    let blips = 1;
    const audits = new TriggerAudits({
      store: {
        unaudited: store.unaudited,
        recordAudits: (ts) => {
          if (blips-- > 0) return Promise.reject(new Error('ClickHouse timeout'));
          return store.recordAudits(ts);
        },
      },
      audit: (p) => void sent.push(p.trigger_id),
      onAudited: (p) => void counted.push(p.trigger_id),
      logger: pino({ level: 'silent' }),
      trail: new PublisherTrail(),
    });
    expect(await audits.audit(t)).toBe(false);
    await audits.auditMissed(() => true);
    await audits.auditMissed(() => true);
    // At least once on the audit topic (the README's residual duplicate), once in the counter.
    expect(sent).toEqual([t.trigger_id, t.trigger_id]);
    expect(counted).toEqual([t.trigger_id]);
  });

  it('sends the same audit record on every attempt (at: the trigger was created, not the call)', async () => {
    const changes: unknown[] = [];
    const write = auditTriggers({
      change: (c: Omit<StateChange, 'at'> & { at?: string | number }) => {
        changes.push(c);
        return Promise.resolve();
      },
    });
    const t = trigger('m');
    await write(t);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await write(structuredClone(t));
    expect(changes).toHaveLength(2);
    expect(changes[1]).toEqual(changes[0]);
    expect(changes[0]).toMatchObject({
      at: t.created_at,
      action: 'retrain_trigger.emit',
      resource_id: t.trigger_id,
      model_id: 'm',
    });
  });
});
