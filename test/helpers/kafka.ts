// A real Kafka 4 broker (KRaft) for tests, on free ports over a temporary directory,
// started by the project's own infra/kafka.ts. Unavailable (with the reason) where Java
// 17 or Maven is missing.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureKafkaInstalled, kafkaBroker, startKafka, type KafkaConfig } from '../../infra/kafka.js';
import { freePort } from './net.js';

export interface TestKafka {
  readonly bootstrap: string;
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
  const config: KafkaConfig = { dir, ip: '127.0.0.1', port, controllerPort, heap: '384m' };
  await startKafka(config);
  return {
    bootstrap: `127.0.0.1:${port}`,
    stop: async () => {
      await kafkaBroker(config).stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
