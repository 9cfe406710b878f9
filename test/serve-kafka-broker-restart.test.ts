// The streaming inference service through a restart of its Kafka broker mid-stream: it
// reconnects by itself, and every input message's score arrives (duplicates counted:
// only a batch whose commit the restart cut can repeat).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { storage } from '../src/storage/index.js';
import { bundleFromFiles } from '../src/ml/model-bundle.js';
import { readModelFiles } from '../src/ml/training/model-dir.js';
import { ScoringService } from '../src/serving/scoring-service.js';
import { KafkaScoringStream } from '../src/serving/kafka-stream.js';
import { trainedModelDir } from './helpers/trained-model.js';
import { featureMessages, OutputReader, produceInSends, testKafkaClient, testWithKafka } from './helpers/kafka.js';

await tf.setBackend('cpu');
testWithKafka(
  'Kafka: a broker restart mid-stream loses nothing; the service reconnects by itself',
  async (t, kafka) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hepflow-kafka-restart-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const bundle = await bundleFromFiles(await readModelFiles(storage(), await trainedModelDir(dir, 'hlf')));
    t.after(() => bundle.model.dispose());
    const service = new ScoringService(bundle, { maxBatch: 64, maxDelayMs: 1, maxQueue: 4096 });
    const stream = new KafkaScoringStream(service, {
      brokers: [kafka.bootstrap],
      groupId: 'kafka-restart',
      partitions: 2,
      inputTopic: 'events',
      outputTopic: 'scores',
      deadLetterTopic: 'events-dead',
      tuning: { sessionTimeoutMs: 6_000, fetchMaxBytes: 8_192 },
    });
    await stream.start();
    t.after(() => stream.stop());
    const client = testKafkaClient(kafka.bootstrap);
    const reader = new OutputReader(client, ['scores', 'events-dead']);
    await reader.start();
    t.after(() => reader.stop());

    const before = featureMessages(500, 'a');
    const afterwards = featureMessages(100, 'b');
    await produceInSends(client, 'events', before, 25);
    await reader.until(() => reader.perSource.size >= 50);
    const scoredAtRestart = reader.perSource.size;
    await kafka.restart();
    await produceInSends(client, 'events', afterwards, 25);
    const all = [...before, ...afterwards];
    await reader.until(() => reader.perSource.size === all.length);
    await stream.stop();

    t.diagnostic(
      `${scoredAtRestart} of ${before.length} scores read when the broker restarted; ${reader.duplicates} duplicates`,
    );
    assert.equal(reader.messages.filter((m) => m.topic === 'events-dead').length, 0);
    assert.deepEqual(new Set(reader.messages.map((m) => m.key)), new Set(all.map((m) => m.key)));
    // A duplicate is the same input message's score twice, never a score of another.
    for (const m of reader.messages) assert.equal(JSON.parse(m.value).id, m.key);
    const admin = client.admin();
    await admin.connect();
    const offsets = await admin.fetchOffsets({ groupId: 'kafka-restart', topics: ['events'] });
    await admin.disconnect();
    assert.equal(
      offsets[0]!.partitions.reduce((s, p) => s + Number(p.offset), 0),
      all.length,
    );
  },
);
