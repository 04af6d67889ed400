/**
 * The drift route leaves a window's numbers in the engine's result file and reads each column
 * where it is used: into a walk thread's slot, or into a buffer reused on this thread. Its answers
 * must be those of windows read whole, with the walk threads (the compiled pool, dist/) and
 * without, and no result file may stay open after an answer or after a reader stops early.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drift } from '../../src/drift/index.js';
import { evaluateWindow, planColumns } from '../../src/drift/engine/evaluate.js';
import { driftSettings } from '../../src/drift/engine/settings.js';
import type { DriftBucket, WindowSample } from '../../src/drift/engine/types.js';
import { DriftService } from '../../src/drift/service/drift-service.js';
import { PolicyStore } from '../../src/drift/store/policies.js';
import { readWindows } from '../../src/drift/store/windows.js';
import type { MethodOption } from '../../src/drift/statistics/index.js';
import type { WalkPool } from '../../src/drift/walks/walk-pool.js';
import { models } from '../../src/models/index.js';
import type { Database } from '../../src/platform/clickhouse/index.js';
import { parseBucket } from '../../src/platform/time/index.js';
import { importCompiled } from '../support/compiled.js';
import { seedDriftWindows } from '../support/drift-windows-data.js';
import { startTestService } from '../support/service.js';

const T0 = Date.UTC(2026, 7, 1);
const HOUR = 3_600_000;
const key = { modelId: 'in-file', version: '1' };
const range = { from: T0, to: T0 + 2 * HOUR + 1, window: parseBucket('30m') };

let pool: WalkPool;

beforeAll(async () => {
  const { WalkPool: Compiled } =
    await importCompiled<typeof import('../../src/drift/walks/walk-pool.js')>('drift/walks/walk-pool.js');
  const created = Compiled.create({ threads: 2, minValues: 1_000 });
  if (!created) throw new Error('the compiled walk pool found no worker module next to it');
  pool = created;
});

afterAll(async () => {
  await pool?.close();
});

/** Result files this process holds open (their names are removed once open). */
function openResultFiles(): string[] {
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      return target.includes('modelwatch-native-') ? [target] : [];
    } catch {
      return []; // closed meanwhile
    }
  });
}

/** A file is closed a moment after its last window is released (the close is not awaited). */
async function noResultFilesOpen(): Promise<void> {
  for (let k = 0; k < 50 && openResultFiles().length > 0; k++) await new Promise((r) => setTimeout(r, 20));
  expect(openResultFiles()).toEqual([]);
}

/** A service with the windows' predictions, the first hour as reference, and the default plans. */
async function seededWithReference() {
  const service = await startTestService();
  await seedDriftWindows(service, key, T0);
  const { service: driftService } = service.use(drift);
  await driftService.setReference(key, { from: T0, to: T0 + HOUR }, 'test');
  const plans = planColumns((await driftService.reference(key))!, driftSettings());
  return { db: service.platform.db, plans };
}

describe('numbers left in the result file until evaluated', () => {
  it('answer as windows read whole, on the walk threads and on this one, leaving no file open', async () => {
    const service = await startTestService();
    await seedDriftWindows(service, key, T0);
    const db = service.platform.db;
    const { service: here } = service.use(drift);
    const walked = new DriftService({
      db,
      models: service.use(models).registry,
      policies: new PolicyStore(db),
      logger: service.platform.logger,
      walks: pool,
    });
    await here.setReference(key, { from: T0, to: T0 + HOUR }, 'test');
    const reference = (await walked.reference(key))!;
    const settings = driftSettings();
    const methods: (MethodOption | undefined)[] = [undefined, 'ks', 'wasserstein', 'psi', 'jensenshannon'];
    for (const method of methods) {
      const plans = planColumns(reference, settings, method);
      const whole: DriftBucket[] = [];
      for await (const sample of readWindows(db, { key, ...range, plans }))
        whole.push(evaluateWindow(plans, sample, settings.datasetDriftShare));
      expect(whole.length).toBe(4);
      const before = pool.completed;
      const onThreads = await walked.report({ modelId: key.modelId, version: key.version, ...range, method });
      const onThisThread = await here.report({
        modelId: key.modelId,
        version: key.version,
        ...range,
        method,
      });
      expect(JSON.stringify(onThreads.buckets), String(method)).toBe(JSON.stringify(whole));
      expect(JSON.stringify(onThisThread.buckets), String(method)).toBe(JSON.stringify(whole));
      // KS and W1 columns were walked on the threads, read there from the file.
      if (method !== 'psi' && method !== 'jensenshannon') expect(pool.completed).toBeGreaterThan(before);
      await noResultFilesOpen();
    }
  });

  it('a reader that stops early closes the file once the window it kept is released', async () => {
    const { db, plans } = await seededWithReference();
    let kept: WindowSample | undefined;
    for await (const sample of readWindows(db, { key, ...range, plans, numbersInFile: true })) {
      kept = sample;
      break;
    }
    const x = kept!.columns.get(plans.find((p) => p.ref.column === 'x')!.key)!.pending!;
    expect(x.length).toBe(1_000);
    expect(openResultFiles().length).toBeGreaterThan(0);
    // The synchronous evaluation cannot read them: it says so instead of finding the column empty.
    expect(() => evaluateWindow(plans, kept!, 0.5)).toThrow(/numbers are still in the result file/);
    const values = await x.read();
    expect(values.every((v, k) => k === 0 || values[k - 1]! <= v)).toBe(true);
    kept!.release!();
    await noResultFilesOpen();
    await expect(x.read()).rejects.toThrow(/released before its numbers were read/);
  });

  it('a batch whose other query fails leaves no result file open', async () => {
    const { db, plans } = await seededWithReference();
    // The categorical counts fail at once, while the numbers' query is still writing its file.
    const commands: Promise<unknown>[] = [];
    const failing = {
      embedded: true,
      client: {
        command: (args: { query: string }) => {
          const done = args.query.includes('count() AS c')
            ? Promise.reject(new Error('counts refused'))
            : db.client.command(args);
          commands.push(done.catch(() => undefined));
          return done;
        },
      },
    } as unknown as Database;
    const read = async () => {
      for await (const sample of readWindows(failing, { key, ...range, plans, numbersInFile: true }))
        sample.release?.();
    };
    await expect(read()).rejects.toThrow(/counts refused/);
    // The numbers' file, written after the failure, would be opened a moment after its query.
    await Promise.all(commands);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await noResultFilesOpen();
  });
});
