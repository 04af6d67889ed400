import type { Producer, ProducerRecord } from 'kafkajs';
import { AuditLog, type AuditRecord } from '../../src/audit/index.js';
import { createLogger, type Logger } from '../../src/platform/observability/index.js';

/** An AuditLog on a producer that keeps what it is sent, started (connected). */
export async function recordingLog(): Promise<{
  log: AuditLog;
  sent: AuditRecord[];
  logger: Logger;
}> {
  const sent: AuditRecord[] = [];
  const producer = {
    send: (record: ProducerRecord) => {
      for (const m of record.messages) sent.push(JSON.parse(String(m.value)) as AuditRecord);
      return Promise.resolve([]);
    },
  } as unknown as Producer;
  const logger = createLogger('silent', 'audit-log-test');
  const log = new AuditLog({ producer, topic: 'audit', logger });
  await log.start();
  return { log, sent, logger };
}
