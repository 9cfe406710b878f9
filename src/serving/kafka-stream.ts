/**
 * The streaming mode of the inference service: consumes events (one JSON event per
 * message, as the HTTP endpoint takes them) from a Kafka topic, produces one score
 * message per event to another topic, and a message that cannot be scored to a
 * dead-letter topic with its error — the stream never stops on bad input.
 *
 * Delivery is at least once: a batch's offsets are committed only after its scores and
 * dead letters are acknowledged by the broker (acks from all in-sync replicas), so a
 * crash replays, never loses. Stopping (SIGTERM) finishes the batch in hand first.
 *
 * Client: kafkajs (pure JavaScript, no native build). Checked against Kafka 4.1 in
 * KRaft mode, which removed the oldest protocol versions (KIP-896): kafkajs negotiates
 * versions that 4.x still serves for admin, produce, fetch and classic consumer groups.
 */
import { Kafka, logLevel, type Consumer, type KafkaMessage, type Message, type Producer } from 'kafkajs';
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
}

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
  private consumer: Consumer | null = null;
  private producer: Producer | null = null;
  scored = 0;
  deadLettered = 0;

  constructor(
    private readonly service: ScoringService,
    private readonly o: KafkaStreamOptions,
  ) {
    this.kafka = new Kafka({
      clientId: o.clientId ?? 'hepflow-serve',
      brokers: [...o.brokers],
      logLevel: logLevel.WARN,
      retry: { retries: 10 },
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
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await this.producer.connect();
    this.consumer = this.kafka.consumer({ groupId: this.o.groupId });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.o.inputTopic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        if (!isRunning() || isStale()) return;
        const outcomes = await Promise.all(
          batch.messages.map((m) => this.scoreMessage(m, batch.topic, batch.partition)),
        );
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
        await this.consumer!.commitOffsets([
          { topic: batch.topic, partition: batch.partition, offset: (BigInt(batch.lastOffset()) + 1n).toString() },
        ]);
        await heartbeat();
      },
    });
  }

  /** One message's score, or its dead letter. Only a full queue is waited out (backpressure). */
  private async scoreMessage(
    m: KafkaMessage,
    topic: string,
    partition: number,
  ): Promise<{ ok: boolean; message: Message }> {
    const key = m.key?.toString('utf8') ?? null;
    const value = m.value?.toString('utf8') ?? null;
    const dead = (error: string) => {
      const letter: DeadLetter = { error, topic, partition, offset: m.offset, key, value };
      return { ok: false, message: { key: m.key, value: JSON.stringify(letter) } };
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
          message: { key: m.key, value: JSON.stringify({ ...score, source: { topic, partition, offset: m.offset } }) },
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
    await this.consumer?.disconnect();
    await this.producer?.disconnect();
    this.consumer = null;
    this.producer = null;
  }
}
