// A real Kafka 4 broker (KRaft) for tests, on free ports over a temporary directory,
// started by the project's own infra/kafka.ts. Unavailable (with the reason) where Java
// 17 or Maven is missing. Also a reader of the service's output topics that counts each
// input message's scores, to check "nothing lost" and count duplicates.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, renameSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test, type TestContext } from 'node:test';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { ensureKafkaInstalled, KAFKA_JARS, kafkaBroker, startKafka, type KafkaConfig } from '../../infra/kafka.js';
import { SOURCE_HEADER } from '../../src/serving/kafka-stream.js';
import { jsonEvents } from './json-events.js';
import { freePort } from './net.js';

export interface TestKafka {
  readonly bootstrap: string;
  /** Stops the broker (SIGTERM, as an operator's restart does) and starts it again on the same data. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestKafka(): Promise<TestKafka | { unavailable: string }> {
  try {
    ensureKafkaInstalled();
  } catch (e) {
    return { unavailable: (e as Error).message };
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hepflow-kafka-'));
  const [port, controllerPort] = [await freePort(), await freePort()];
  let cds = classDataArchive();
  // The client JIT only, the serial collector and a class-data archive of the broker's
  // classes: a test's broker starts in a third to a half of the time on a loaded
  // machine, and never runs long enough to need the optimizing JIT.
  const configWith = (archive: string[]): KafkaConfig => ({
    dir,
    ip: '127.0.0.1',
    port,
    controllerPort,
    heap: '384m',
    jvmOptions: ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', ...archive],
  });
  let config = configWith(cds.options);
  await startKafka(config);
  const stop = async () => {
    await kafkaBroker(config).stop(cds.dumping ? 60_000 : undefined);
    cds.keep();
  };
  return {
    bootstrap: `127.0.0.1:${port}`,
    restart: async () => {
      await stop();
      cds = classDataArchive();
      config = configWith(cds.options);
      await startKafka(config);
    },
    stop: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * JVM options for a class-data archive of the broker (java -XX:SharedArchiveFile), one per
 * user, JVM and set of jars in the temp directory. Without one, this broker writes it when
 * it exits (to a file of its own, renamed into place after, so that brokers of parallel
 * tests never read a half-written one); VerifySharedSpaces checks it before use, and a
 * JVM that cannot use an archive starts without one.
 */
function classDataArchive(): { options: string[]; dumping: boolean; keep(): void } {
  const key = createHash('sha256')
    .update(`${process.env.HEPFLOW_JAVA ?? 'java'}\n${readdirSync(KAFKA_JARS).sort().join('\n')}`)
    .digest('hex')
    .slice(0, 16);
  const archive = path.join(os.tmpdir(), `hepflow-kafka-${os.userInfo().uid}-${key}.jsa`);
  if (existsSync(archive))
    return { options: ['-XX:+VerifySharedSpaces', `-XX:SharedArchiveFile=${archive}`], dumping: false, keep() {} };
  const partial = `${archive}.${process.pid}.${Date.now()}`;
  return {
    options: ['-XX:+VerifySharedSpaces', `-XX:ArchiveClassesAtExit=${partial}`],
    dumping: true,
    keep: () => {
      if (existsSync(partial)) renameSync(partial, archive);
    },
  };
}

/**
 * A test file's one test against its own broker (started before it, stopped after it);
 * skipped with the reason where no broker can run here.
 */
export function testWithKafka(name: string, body: (t: TestContext, kafka: TestKafka) => Promise<void>): void {
  let kafka: TestKafka | { unavailable: string };
  before(async () => {
    kafka = await startTestKafka();
  });
  after(async () => {
    if ('stop' in kafka) await kafka.stop();
  });
  test(name, async (t) => {
    if ('unavailable' in kafka) t.skip(kafka.unavailable);
    else await body(t, kafka);
  });
}

export const testKafkaClient = (bootstrap: string): Kafka =>
  new Kafka({
    clientId: 'hepflow-test',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 30, maxRetryTime: 1_000 },
  });

export interface OutputMessage {
  readonly topic: string;
  readonly partition: number;
  /** Its offset in its topic. */
  readonly offset: bigint;
  readonly key: string | null;
  readonly value: string;
  /** The input message it answers, `topic/partition/offset` (the service's SOURCE_HEADER). */
  readonly source: string;
}

/**
 * Reads `topics` from their start in its own consumer group and keeps every message,
 * and how many arrived per source (more than one: a duplicate).
 */
export class OutputReader {
  readonly messages: OutputMessage[] = [];
  readonly perSource = new Map<string, number>();
  private consumer: Consumer | null = null;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly client: Kafka,
    private readonly topics: readonly string[],
  ) {}

  async start(): Promise<void> {
    this.consumer = this.client.consumer({ groupId: `hepflow-test-reader-${process.pid}-${Date.now()}` });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [...this.topics], fromBeginning: true });
    await this.consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const source = message.headers?.[SOURCE_HEADER]?.toString() ?? '';
        this.messages.push({
          topic,
          partition,
          offset: BigInt(message.offset),
          key: message.key?.toString() ?? null,
          value: message.value!.toString(),
          source,
        });
        this.perSource.set(source, (this.perSource.get(source) ?? 0) + 1);
        for (const w of this.waiters.splice(0)) w();
      },
    });
  }

  /** Messages that repeat a source already seen. */
  get duplicates(): number {
    return this.messages.length - this.perSource.size;
  }

  /** Resolves once `done()` holds (checked after each message); the test's timeout bounds the wait. */
  async until(done: () => boolean): Promise<void> {
    while (!done()) await new Promise<void>((r) => this.waiters.push(r));
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

/**
 * `n` one-event messages of feature rows (a few hundred bytes, as a trigger would send),
 * keyed and identified `<prefix><i>`, cycling through the rows of generated events.
 */
export function featureMessages(n: number, prefix = 'f'): { key: string; value: string }[] {
  const rows = jsonEvents(40, 5).flatMap((e) => (e.row === null ? [] : [Array.from(e.row.hlf)]));
  return Array.from({ length: n }, (_, i) => {
    const id = `${prefix}${i}`;
    return { key: id, value: JSON.stringify({ id, features: { hlf: rows[i % rows.length], particles: [] } }) };
  });
}

/**
 * Produces `messages` `perSend` at a time, each send its own record batch, so that a
 * consumer with a small fetch size takes them in many batches.
 */
export async function produceInSends(
  client: Kafka,
  topic: string,
  messages: readonly { key: string; value: string }[],
  perSend: number,
): Promise<void> {
  const producer = client.producer();
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += perSend)
      await producer.send({ topic, messages: messages.slice(i, i + perSend) });
  } finally {
    await producer.disconnect();
  }
}

/**
 * `hepflow serve --port 0 <args>` (args include --kafka) in its own process with `env`
 * added, once it printed that it streams; its stdout lines so far in `output`.
 */
export async function startServeKafka(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; output: string[] }> {
  const child = spawn(process.execPath, ['dist/cli/hepflow.js', 'serve', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  const output: string[] = [];
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      output.push(l);
      if (l.startsWith('streaming ')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`serve exited early (${code}): ${output.join('\n')}`)));
  });
  return { child, output };
}
