// `hepflow serve --kafka` killed (SIGKILL: no drain, no last commit) mid-stream, then
// started again in the same consumer group: the new process resumes from the committed
// offsets, every input message's score arrives, and the only duplicates are of messages
// the killed process had scored past its last commit (what it had in flight).
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { trainedModelDir } from './helpers/trained-model.js';
import {
  featureMessages,
  OutputReader,
  produceInSends,
  startServeKafka,
  testKafkaClient,
  testWithKafka,
} from './helpers/kafka.js';

/** `hepflow serve --kafka` as a user runs it, in the group this test kills and restarts. */
const serve = (model: string, bootstrap: string) =>
  startServeKafka(['--model', model, '--backend', 'cpu', '--kafka', bootstrap, '--group', 'kill-test'], {
    // Small batches, so a kill lands between commits; the shortest session the broker
    // allows, so the killed member's partitions move on soon.
    HEPFLOW_KAFKA_FETCH_MAX_BYTES: '8192',
    HEPFLOW_KAFKA_SESSION_TIMEOUT_MS: '6000',
  });

const exit = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });

testWithKafka(
  'Kafka: a service killed mid-stream resumes from its committed offsets; duplicates only of what was in flight',
  async (t, kafka) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hepflow-kafka-kill-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const model = await trainedModelDir(dir, 'hlf');
    const client = testKafkaClient(kafka.bootstrap);
    const admin = client.admin();
    await admin.connect();
    t.after(() => admin.disconnect());
    await admin.createTopics({
      topics: ['events', 'scores', 'events-dead'].map((topic) => ({ topic, numPartitions: 2 })),
      waitForLeaders: true,
    });
    const messages = featureMessages(600, 'k');
    await produceInSends(client, 'events', messages, 25);
    const reader = new OutputReader(client, ['scores', 'events-dead']);
    await reader.start();
    t.after(() => reader.stop());

    const first = await serve(model, kafka.bootstrap);
    await reader.until(() => reader.perSource.size >= 100);
    first.child.kill('SIGKILL');
    await exit(first.child);
    const committed = new Map(
      (await admin.fetchOffsets({ groupId: 'kill-test', topics: ['events'] }))[0]!.partitions.map((p) => [
        p.partition,
        BigInt(p.offset),
      ]),
    );
    // What the killed process produced: the score topic's end, now that it cannot produce more.
    const producedByFirst = new Map(
      (await admin.fetchTopicOffsets('scores')).map((p) => [p.partition, BigInt(p.high)]),
    );
    const committedTotal = [...committed.values()].reduce((s, o) => s + (o < 0n ? 0n : o), 0n);
    assert.ok(committedTotal < BigInt(messages.length), `the kill landed after the last commit (${committedTotal})`);

    const second = await serve(model, kafka.bootstrap);
    await reader.until(() => reader.perSource.size === messages.length);
    second.child.kill('SIGTERM');
    assert.equal(await exit(second.child), 0);

    assert.deepEqual(new Set(reader.messages.map((m) => m.key)), new Set(messages.map((m) => m.key)));
    assert.equal(reader.messages.filter((m) => m.topic === 'events-dead').length, 0);
    const inFlight = reader.messages.filter((m) => {
      if (m.topic !== 'scores') return false;
      const [, partition, offset] = m.source.split('/');
      return m.offset < producedByFirst.get(m.partition)! && BigInt(offset!) >= committed.get(Number(partition))!;
    });
    const inFlightSources = new Set(inFlight.map((m) => m.source));
    for (const [source, n] of reader.perSource) {
      if (n > 1) assert.ok(inFlightSources.has(source) && n === 2, `${source}: ${n} scores, not in flight at the kill`);
    }
    t.diagnostic(
      `committed at the kill: ${committedTotal} of ${messages.length}; in flight (scored, not committed): ${inFlight.length}; duplicates: ${reader.duplicates}`,
    );
    // Every in-flight message is replayed (the new process starts at the committed offsets).
    assert.equal(reader.duplicates, inFlight.length);
  },
);
