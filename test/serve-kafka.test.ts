// The streaming inference service against a real Kafka 4 broker: every valid event gets
// its score message, every malformed one (poison: not JSON, wrong shape, wrong feature
// count) a dead letter naming its partition, offset and cause with the original message,
// the partition keeps going past them, and a stop commits what was processed.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { storage } from '../src/storage/index.js';
import { bundleFromFiles, predictProbabilities } from '../src/ml/model-bundle.js';
import { readModelFiles } from '../src/ml/training/model-dir.js';
import { ScoringService, type EventScore } from '../src/serving/scoring-service.js';
import { KafkaScoringStream, type DeadLetter } from '../src/serving/kafka-stream.js';
import { parseSelection } from '../src/scoring/selection.js';
import { trainedModelDir } from './helpers/trained-model.js';
import { jsonEvents } from './helpers/json-events.js';
import { OutputReader, testKafkaClient, testWithKafka } from './helpers/kafka.js';

await tf.setBackend('cpu');
testWithKafka(
  'Kafka: scores for every valid event, dead letters for malformed ones, nothing lost',
  async (t, kafka) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hepflow-serve-kafka-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const bundle = await bundleFromFiles(await readModelFiles(storage(), await trainedModelDir(dir, 'hlf')));
    const service = new ScoringService(
      bundle,
      { maxBatch: 64, maxDelayMs: 2, maxQueue: 32 },
      parseSelection('wjets>=0.5', ['qcd', 'ttbar', 'wjets']),
    );
    const topics = { inputTopic: 'events', outputTopic: 'scores', deadLetterTopic: 'events-dead' };
    const stream = new KafkaScoringStream(service, {
      brokers: [kafka.bootstrap],
      groupId: 'hepflow-serve-test',
      partitions: 2,
      ...topics,
    });
    await stream.start();
    t.after(() => stream.stop());

    const events = jsonEvents(240, 31);
    const bad = new Map<string, RegExp>([
      ['bad-json', /message is not JSON/],
      ['bad-shape', /missing collection 'muons'/],
      ['bad-hlf', /features\.hlf: 2 values, expected 14/],
    ]);
    const messages = events.map((e) => ({ key: e.json.id, value: JSON.stringify(e.json) }));
    // Malformed messages in the middle of the stream: the ones after them must still be scored.
    const { muons: _m, ...noMuons } = events[0]!.json.event as Record<string, unknown>;
    messages.splice(60, 0, { key: 'bad-json', value: '{"event": ' });
    messages.splice(120, 0, { key: 'bad-shape', value: JSON.stringify({ id: 'bad-shape', event: noMuons }) });
    messages.splice(180, 0, {
      key: 'bad-hlf',
      value: JSON.stringify({ id: 'bad-hlf', features: { hlf: [1, 2], particles: [] } }),
    });
    const client = testKafkaClient(kafka.bootstrap);
    const reader = new OutputReader(client, ['scores', 'events-dead']);
    await reader.start();
    t.after(() => reader.stop());
    const producer = client.producer();
    await producer.connect();
    // One partition, so that the poison messages sit between good ones of the same partition.
    const sent = await producer.send({ topic: 'events', messages: messages.map((m) => ({ ...m, partition: 1 })) });
    await producer.disconnect();

    await reader.until(() => reader.messages.length === messages.length);
    await stream.stop();
    const scores = reader.messages.filter((m) => m.topic === 'scores');
    const dead = reader.messages.filter((m) => m.topic === 'events-dead');
    assert.equal(reader.duplicates, 0);
    assert.equal(stream.scored, events.length);
    assert.equal(stream.deadLettered, bad.size);

    const selected = events.filter((e) => e.row !== null);
    const want = await predictProbabilities(
      bundle,
      selected.map((e) => e.row!),
    );
    const expected = new Map(selected.map((e, i) => [e.json.id, want.subarray(i * 3, i * 3 + 3)]));
    assert.deepEqual(scores.map((s) => s.key).sort(), events.map((e) => e.json.id).sort());
    for (const s of scores) {
      const v = JSON.parse(s.value) as EventScore & { source: { topic: string; offset: string } };
      assert.equal(v.id, s.key);
      assert.equal(v.source.topic, 'events');
      assert.equal(s.source, `events/1/${v.source.offset}`);
      const p = expected.get(s.key!);
      assert.equal(v.selected, p !== undefined);
      if (p !== undefined) {
        assert.ok(Math.abs(v.probabilities!.wjets! - p[2]!) < 1e-6);
        assert.equal(v.accepted, p[2]! >= 0.5);
      }
    }
    const base = BigInt(sent[0]!.baseOffset!);
    for (const d of dead) {
      const letter = JSON.parse(d.value) as DeadLetter;
      const at = messages.findIndex((m) => m.key === d.key);
      assert.match(letter.error, bad.get(d.key!)!);
      assert.equal(letter.value, messages[at]!.value);
      assert.deepEqual([letter.topic, letter.partition, letter.offset], ['events', 1, (base + BigInt(at)).toString()]);
      assert.equal(d.source, `events/1/${letter.offset}`);
    }
    // Offsets were committed: a new stream in the same group has nothing left to do.
    const admin = client.admin();
    await admin.connect();
    const offsets = await admin.fetchOffsets({ groupId: 'hepflow-serve-test', topics: ['events'] });
    await admin.disconnect();
    // Partition 0 got nothing: no offset committed there (-1).
    const committed = offsets[0]!.partitions.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
    assert.equal(committed, messages.length);
    bundle.model.dispose();
  },
);
