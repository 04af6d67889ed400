import { stopIdleRequestQueuePolling } from '../../src/platform/kafka/index.js';

// Every test file's process: the tests' own kafkajs clients (harness, cluster, publisher) get the
// service's fix of kafkajs' idle request-queue timer too (src/platform/kafka/request-queue-fix.ts).
stopIdleRequestQueuePolling();
