/**
 * The Kafka benchmark's load generator and score reader, a process of its own (not the
 * service's): produces one-event messages open-loop at a fixed rate (event i is due at
 * t0 + i/rate whether or not earlier ones were answered, so a slow service shows as
 * latency instead of a slower generator), reads the score topic, and prints one JSON line:
 * latency from each event's due time to its score's arrival, and what was lost or repeated.
 * Usage: node dist/bench/lib/kafka-load.js '<LoadOptions as JSON>'
 */
import { Kafka, logLevel } from 'kafkajs';

export interface LoadOptions {
  readonly bootstrap: string;
  readonly inputTopic: string;
  readonly outputTopic: string;
  readonly rate: number;
  readonly seconds: number;
  /** How long the oldest due event waits for more to share its produce request (the producer's linger). */
  readonly lingerMs: number;
  /** Feature rows (14 HLF values each) the events cycle through. */
  readonly rows: readonly (readonly number[])[];
  /** How long to wait for the last scores after the last event was produced. */
  readonly drainMs: number;
}

export interface LoadResult {
  readonly sent: number;
  readonly received: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  /** p99 of how long events waited from their due time to their produce call (linger + the generator's lag). */
  readonly generatorLateP99: number;
  readonly produceErrors: number;
}

const quantile = (sorted: readonly number[], q: number): number =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;

async function main(o: LoadOptions): Promise<LoadResult> {
  const kafka = new Kafka({ clientId: 'hepflow-bench-load', brokers: [o.bootstrap], logLevel: logLevel.WARN });
  const n = Math.round(o.rate * o.seconds);
  const due = new Float64Array(n);
  const arrived = new Float64Array(n).fill(NaN);
  let received = 0;
  let duplicates = 0;
  const consumer = kafka.consumer({ groupId: `hepflow-bench-reader-${process.pid}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic: o.outputTopic, fromBeginning: false });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  let allIn: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (allIn = resolve));
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const now = performance.now();
      for (const m of batch.messages) {
        const i = Number(m.key);
        if (!Number.isNaN(arrived[i]!)) duplicates++;
        else {
          arrived[i] = now;
          if (++received === n) allIn();
        }
      }
    },
  });
  await joined;
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const bodies = Array.from({ length: n }, (_, i) =>
    JSON.stringify({ id: `${i}`, features: { hlf: o.rows[i % o.rows.length], particles: [] } }),
  );
  const late: number[] = [];
  let produceErrors = 0;
  const sends: Promise<unknown>[] = [];
  const t0 = performance.now() + 50;
  for (let i = 0; i < n; i++) due[i] = t0 + (i * 1000) / o.rate;
  let next = 0;
  while (next < n) {
    const now = performance.now();
    // The oldest unsent event has waited its linger: send it with every event due by now.
    if (now >= due[next]! + o.lingerMs) {
      const messages = [];
      for (; next < n && due[next]! <= now; next++) {
        messages.push({ key: `${next}`, value: bodies[next]! });
        late.push(now - due[next]!);
      }
      sends.push(producer.send({ topic: o.inputTopic, acks: 1, messages }).catch(() => produceErrors++));
    }
    // Sleep until then (at least a timer tick): an open-loop schedule, not a spin.
    if (next < n) await new Promise((r) => setTimeout(r, Math.max(0, due[next]! + o.lingerMs - performance.now())));
  }
  await Promise.all(sends);
  await Promise.race([done, new Promise((r) => setTimeout(r, o.drainMs))]);
  await producer.disconnect();
  await consumer.disconnect();
  const lat: number[] = [];
  for (let i = 0; i < n; i++) if (!Number.isNaN(arrived[i]!)) lat.push(arrived[i]! - due[i]!);
  lat.sort((a, b) => a - b);
  late.sort((a, b) => a - b);
  return {
    sent: n,
    received,
    lost: n - received,
    duplicates,
    p50: quantile(lat, 0.5),
    p99: quantile(lat, 0.99),
    p999: quantile(lat, 0.999),
    max: lat[lat.length - 1] ?? NaN,
    generatorLateP99: quantile(late, 0.99),
    produceErrors,
  };
}

console.log(JSON.stringify(await main(JSON.parse(process.argv[2]!) as LoadOptions)));
process.exit(0);
