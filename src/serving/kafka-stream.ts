/**
 * The streaming mode of the inference service: consumes events (one JSON event per
 * message, as the HTTP endpoint takes them) from a Kafka topic, produces one score
 * message per event to another topic, and a message that cannot be scored to a
 * dead-letter topic with its error — the stream never stops on bad input.
 *
 * Delivery is at least once: a batch's offsets are committed only after its scores and
 * dead letters are acknowledged by the broker (acks from all in-sync replicas), so a
 * crash replays, never loses. What a crash replays is the batches in hand (scored, maybe
 * produced, not yet committed); their scores can arrive twice, each carrying its input's
 * topic/partition/offset (in the value and the `hepflow-source` header) so a reader can
 * drop the second copy. Stopping (SIGTERM) finishes the batch in hand first.
 * docs/serving-kafka.md has the reasoning, the restart behaviour and the figures.
 *
 * Client: kafkajs (pure JavaScript, no native build). Checked against Kafka 4.1 in
 * KRaft mode, which removed the oldest protocol versions (KIP-896): kafkajs negotiates
 * versions that 4.x still serves for admin, produce, fetch and classic consumer groups.
 */
import {
  Kafka,
  logLevel,
  type Consumer,
  type EachBatchPayload,
  type KafkaMessage,
  type Message,
  type Producer,
} from 'kafkajs';
import { parseInteger } from '../settings.js';
import { BadEventError } from './event-json.js';
import { QueueFullError } from './micro-batcher.js';
import type { ScoringService } from './scoring-service.js';

export interface KafkaStreamOptions {
  readonly brokers: readonly string[];
  readonly inputTopic: string;
  readonly outputTopic: string;
  readonly deadLetterTopic: string;
  /** Consumer group: run several services with the same group to share partitions. */
  readonly groupId: string;
  readonly clientId?: string;
  /** Partitions of topics this service creates when they do not exist (default 1). */
  readonly partitions?: number;
  /** Consumer tuning; unset fields come from the environment (kafkaTuningFromEnv). */
  readonly tuning?: Partial<KafkaTuning>;
}

export interface KafkaTuning {
  /**
   * How long the group waits for a member that stopped heartbeating (a killed service)
   * before its partitions go to another member: the pause a crash costs.
   */
  readonly sessionTimeoutMs: number;
  /** Partitions whose batches are scored at the same time (one batch in hand per partition). */
  readonly concurrentPartitions: number;
  /**
   * Most bytes fetched per partition at a time: a batch's size, and so what a crash can
   * replay (a batch scored and produced but not yet committed, per partition in hand).
   */
  readonly fetchMaxBytes: number;
}

export function kafkaTuningFromEnv(env: NodeJS.ProcessEnv = process.env): KafkaTuning {
  return {
    sessionTimeoutMs: parseInteger('HEPFLOW_KAFKA_SESSION_TIMEOUT_MS', env.HEPFLOW_KAFKA_SESSION_TIMEOUT_MS, 10_000),
    concurrentPartitions: parseInteger(
      'HEPFLOW_KAFKA_CONCURRENT_PARTITIONS',
      env.HEPFLOW_KAFKA_CONCURRENT_PARTITIONS,
      4,
    ),
    fetchMaxBytes: parseInteger('HEPFLOW_KAFKA_FETCH_MAX_BYTES', env.HEPFLOW_KAFKA_FETCH_MAX_BYTES, 1_048_576),
  };
}

/** The header naming the input message a score or dead letter is for: `topic/partition/offset`. */
export const SOURCE_HEADER = 'hepflow-source';

export interface DeadLetter {
  readonly error: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  /** The message as received (UTF-8). */
  readonly value: string | null;
}

export class KafkaScoringStream {
  private readonly kafka: Kafka;
  private readonly tuning: KafkaTuning;
  private consumer: Consumer | null = null;
  private producer: Producer | null = null;
  private stopping = false;
  scored = 0;
  deadLettered = 0;

  constructor(
    private readonly service: ScoringService,
    private readonly o: KafkaStreamOptions,
  ) {
    this.tuning = { ...kafkaTuningFromEnv(), ...o.tuning };
    this.kafka = new Kafka({
      clientId: o.clientId ?? 'hepflow-serve',
      brokers: [...o.brokers],
      logLevel: logLevel.WARN,
      // Reconnecting tries at most 2 s apart (kafkajs: up to 30 s), so the stream resumes
      // within seconds of a broker coming back.
      retry: { retries: 10, maxRetryTime: 2_000 },
    });
  }

  async start(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = [this.o.inputTopic, this.o.outputTopic, this.o.deadLetterTopic].filter((t) => !existing.has(t));
      if (missing.length > 0) {
        await admin.createTopics({
          topics: missing.map((topic) => ({ topic, numPartitions: this.o.partitions ?? 1 })),
          waitForLeaders: true,
        });
      }
    } finally {
      await admin.disconnect();
    }
    // The idempotent producer keeps retrying through a broker restart instead of failing
    // the batch (kafkajs' default for it; a finite count would re-send under new sequence
    // numbers, i.e. duplicates); the backoff stays short so the stream resumes soon after.
    this.producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 2_000 },
    });
    await this.producer.connect();
    await this.runConsumer();
  }

  /**
   * A consumer of the input topic from the group's committed offsets. kafkajs gives up on
   * some errors for good (the coordinator forgot this member while the broker restarted:
   * UNKNOWN_MEMBER_ID from a commit); the stream must not stop silently then, so a
   * consumer that will not restart itself is replaced, which replays its uncommitted batch.
   */
  private async runConsumer(): Promise<void> {
    const { sessionTimeoutMs, fetchMaxBytes, concurrentPartitions } = this.tuning;
    const consumer = this.kafka.consumer({
      groupId: this.o.groupId,
      sessionTimeout: sessionTimeoutMs,
      heartbeatInterval: Math.max(100, Math.floor(sessionTimeoutMs / 5)),
      maxBytesPerPartition: fetchMaxBytes,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (payload.restart || this.stopping || this.consumer !== consumer) return;
      console.error(`Kafka consumer stopped (${payload.error.message}); a new one resumes at the committed offsets`);
      void this.replaceConsumer();
    });
    await consumer.connect();
    await consumer.subscribe({ topic: this.o.inputTopic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: concurrentPartitions,
      eachBatchAutoResolve: false,
      eachBatch: (p) => this.onBatch(consumer, p),
    });
  }

  private async replaceConsumer(): Promise<void> {
    for (let wait = 500; !this.stopping; wait = Math.min(wait * 2, 5_000)) {
      try {
        await this.runConsumer();
        return;
      } catch (e) {
        console.error(`Kafka consumer could not start (${(e as Error).message}); trying again in ${wait} ms`);
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  /** Scores a batch, produces its outputs, and commits its offsets once the broker has them. */
  private async onBatch(
    consumer: Consumer,
    { batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload,
  ): Promise<void> {
    if (!isRunning() || isStale()) return;
    const outcomes = await Promise.all(batch.messages.map((m) => this.scoreMessage(m, batch.topic, batch.partition)));
    const scores: Message[] = [];
    const dead: Message[] = [];
    for (const o of outcomes) (o.ok ? scores : dead).push(o.message);
    await this.producer!.sendBatch({
      acks: -1,
      topicMessages: [
        ...(scores.length ? [{ topic: this.o.outputTopic, messages: scores }] : []),
        ...(dead.length ? [{ topic: this.o.deadLetterTopic, messages: dead }] : []),
      ],
    });
    this.scored += scores.length;
    this.deadLettered += dead.length;
    for (const m of batch.messages) resolveOffset(m.offset);
    // The committed offset is the next message to read.
    await consumer.commitOffsets([
      { topic: batch.topic, partition: batch.partition, offset: (BigInt(batch.lastOffset()) + 1n).toString() },
    ]);
    await heartbeat();
  }

  /** One message's score, or its dead letter. Only a full queue is waited out (backpressure). */
  private async scoreMessage(
    m: KafkaMessage,
    topic: string,
    partition: number,
  ): Promise<{ ok: boolean; message: Message }> {
    const key = m.key?.toString('utf8') ?? null;
    const value = m.value?.toString('utf8') ?? null;
    const headers = { [SOURCE_HEADER]: `${topic}/${partition}/${m.offset}` };
    const dead = (error: string) => {
      const letter: DeadLetter = { error, topic, partition, offset: m.offset, key, value };
      return { ok: false, message: { key: m.key, value: JSON.stringify(letter), headers } };
    };
    let event: unknown;
    try {
      event = JSON.parse(value ?? '');
    } catch (e) {
      return dead(`message is not JSON: ${(e as Error).message}`);
    }
    for (let wait = 1; ; wait = Math.min(wait * 2, 100)) {
      try {
        const [score] = await this.service.score([event], `${topic}[${partition}]@${m.offset}`);
        return {
          ok: true,
          message: {
            key: m.key,
            value: JSON.stringify({ ...score, source: { topic, partition, offset: m.offset } }),
            headers,
          },
        };
      } catch (e) {
        if (e instanceof QueueFullError) {
          await new Promise((r) => setTimeout(r, wait));
          continue;
        }
        return dead(e instanceof BadEventError ? e.message : `scoring failed: ${(e as Error).message ?? String(e)}`);
      }
    }
  }

  /** Finishes the batch in hand, commits it, and disconnects. */
  async stop(): Promise<void> {
    // Set first, so that a crash while stopping starts no new consumer.
    this.stopping = true;
    await this.consumer?.disconnect();
    await this.producer?.disconnect();
    this.consumer = null;
    this.producer = null;
  }
}
