// Publishes California traffic at a fixed rate from its own process (spawned by
// test/support/outage-at-rate.ts), so that the producer's CPU and heap are not counted in the
// figures of the service, which runs in the test process.
//
// argv[2]: JSON { brokers, predictionsTopic, labelsTopic, rate, poisonEvery, rowsFile }.
// rowsFile: JSON [{ prediction, label }] without prediction_id. Message n (0, 1, 2…) is row
// n % rows.length with prediction_id `cal-<n>`, so the ids sent are exactly cal-0 … cal-(N-1).
// A poison message `poison-<k> {not json` follows every `poisonEvery`-th prediction.
// Every 500 ms it prints a JSON line with the counts acknowledged so far (acks=-1); on a line
// "stop" on stdin it finishes the send in flight, prints the last line with done: true, exits.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { createInterface } from 'node:readline';
import { clearInterval, setInterval } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, Partitioners, logLevel } from 'kafkajs';

const options = JSON.parse(process.argv[2]);
const rows = JSON.parse(readFileSync(options.rowsFile, 'utf8'));
// The JSON of each row after its prediction_id: a message is then one concatenation.
const tails = rows.map((r) => ({
  prediction: JSON.stringify(r.prediction).slice(1),
  label: JSON.stringify(r.label).slice(1),
}));

const kafka = new Kafka({
  brokers: options.brokers,
  clientId: 'modelwatch-rate-producer',
  logLevel: logLevel.NOTHING,
});
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
const counts = { predictions: 0, labels: 0, poison: 0, sent: 0, resent: 0, failures: 0, lastError: '' };
let stopping = false;
const started = performance.now();

function report(done = false) {
  const elapsedMs = Math.round(performance.now() - started);
  process.stdout.write(`${JSON.stringify({ ...counts, elapsedMs, done })}\n`);
}

function messagesFor(from, to) {
  const predictions = [];
  const labels = [];
  let poison = 0;
  for (let n = from; n < to; n++) {
    const tail = tails[n % tails.length];
    const key = `cal-${n}`;
    predictions.push({ key, value: `{"prediction_id":"${key}",${tail.prediction}` });
    labels.push({ key, value: `{"prediction_id":"${key}",${tail.label}` });
    if ((n + 1) % options.poisonEvery === 0) {
      predictions.push({ key: null, value: `poison-${counts.poison + poison} {not json` });
      poison += 1;
    }
  }
  return { predictions, labels, poison };
}

/** Sends messages n in [from, to) until acknowledged (a resend may write some twice: counted). */
async function send(from, to) {
  const { predictions, labels, poison } = messagesFor(from, to);
  for (let attempt = 0; ; attempt++) {
    try {
      await producer.sendBatch({
        acks: -1,
        topicMessages: [
          { topic: options.predictionsTopic, messages: predictions },
          { topic: options.labelsTopic, messages: labels },
        ],
      });
      break;
    } catch (err) {
      counts.failures += 1;
      counts.lastError = String(err);
      if (attempt === 0) counts.resent += 1;
      await sleep(500);
    }
  }
  counts.predictions += predictions.length;
  counts.labels += labels.length;
  counts.poison += poison;
}

// A closed stdin (the test process gone) stops it too.
createInterface({ input: process.stdin })
  .on('line', (line) => {
    if (line.trim() === 'stop') stopping = true;
  })
  .on('close', () => (stopping = true));

await producer.connect();
const reporter = setInterval(() => report(), 500);
// One request per 100 ms tick carries what is due by then; a slow request is made up by a larger
// next one (at most one second's worth), so the rate holds while the machine can keep up.
for (let tick = 1; !stopping; tick++) {
  const due = Math.floor((options.rate * (performance.now() - started)) / 1000);
  const to = Math.min(due, counts.sent + options.rate);
  if (to > counts.sent) {
    await send(counts.sent, to);
    counts.sent = to;
  }
  const wait = started + tick * 100 - performance.now();
  if (wait > 0) await sleep(wait);
}
clearInterval(reporter);
await producer.disconnect();
report(true);
process.exit(0);
