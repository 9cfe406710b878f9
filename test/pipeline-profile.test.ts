import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cpuAt,
  cpuWithin,
  intersect,
  latencies,
  merge,
  parseProcStat,
  saturated,
  runSpans,
  splitStage,
  unionLength,
  type HistoryFact,
} from '../bench/lib/pipeline-profile.js';
import { demoPhases, parseTimes } from '../bench/lib/demo-phases.js';
import { meterStorage, threadStorageIo } from '../src/storage/io-meter.js';
import { startTestS3 } from './helpers/s3-server.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

test('runSpans pairs scheduled, started and closed events by their ids', () => {
  const facts: HistoryFact[] = [
    { kind: 'workflowStarted', id: 1, t: 1000 },
    { kind: 'taskScheduled', id: 2, t: 1000 },
    { kind: 'taskStarted', id: 3, t: 1010, scheduledId: 2 },
    { kind: 'taskClosed', id: 4, t: 1030, scheduledId: 2 },
    { kind: 'activityScheduled', id: 5, t: 1030, activityType: 'a', activityId: '5' },
    { kind: 'childInitiated', id: 6, t: 1030, workflowId: 'child' },
    { kind: 'activityStarted', id: 7, t: 1100, scheduledId: 5 },
    { kind: 'childStarted', id: 8, t: 1040, initiatedId: 6, runId: 'r1' },
    { kind: 'activityClosed', id: 9, t: 2100, scheduledId: 5 },
    { kind: 'childClosed', id: 10, t: 3000, initiatedId: 6 },
    { kind: 'workflowClosed', id: 11, t: 3100, continuedAsNew: 'next' },
  ];
  const s = runSpans(facts);
  assert.equal(s.startedAt, 1000);
  assert.equal(s.closedAt, 3100);
  assert.equal(s.continuedAsNew, 'next');
  assert.deepEqual(s.activities, [
    { activityType: 'a', activityId: '5', scheduledAt: 1030, startedAt: 1100, closedAt: 2100 },
  ]);
  assert.deepEqual(s.tasks, [{ scheduledAt: 1000, startedAt: 1010, closedAt: 1030 }]);
  assert.deepEqual(s.children, [{ workflowId: 'child', initiatedAt: 1030, runId: 'r1', closedAt: 3000 }]);
  assert.deepEqual(latencies(s.activities, s.tasks), {
    activities: 1,
    scheduleToStart: 0.07,
    workflowTasks: 1,
    workflowTaskSeconds: 0.03,
  });
  assert.throws(() => runSpans(facts.slice(1)), /no WorkflowExecutionStarted/);
});

test('unionLength counts overlapping intervals once, within the clip', () => {
  assert.equal(
    unionLength(
      [
        [0, 10],
        [5, 15],
        [20, 30],
        [22, 25],
      ],
      [0, 100],
    ),
    25,
  );
  assert.equal(
    unionLength(
      [
        [0, 10],
        [20, 30],
      ],
      [5, 25],
    ),
    10,
  );
  assert.equal(unionLength([], [0, 10]), 0);
});

test('merge, intersect and saturated work on unions of intervals', () => {
  assert.deepEqual(
    merge([
      [5, 15],
      [0, 10],
      [20, 30],
      [30, 31],
      [40, 40],
    ]),
    [
      [0, 15],
      [20, 31],
    ],
  );
  assert.deepEqual(
    intersect(
      [
        [0, 10],
        [20, 30],
      ],
      [
        [5, 25],
        [28, 40],
      ],
    ),
    [
      [5, 10],
      [20, 25],
      [28, 30],
    ],
  );
  // Two slots: full while two activities overlap; back-to-back ones do not fill both.
  const running: [number, number][] = [
    [0, 10],
    [5, 20],
    [10, 12],
    [30, 40],
  ];
  assert.deepEqual(saturated(running, 2), [
    [5, 10],
    [10, 12],
  ]);
  assert.deepEqual(saturated(running, 1), [
    [0, 20],
    [30, 40],
  ]);
  assert.deepEqual(saturated(running, 3), []);
});

test('splitStage: busy time splits into storage and computation, idle time into queued and Temporal', () => {
  // 10 s stage; two overlapping activities busy 1..7 s (6 s), summing 8 s of which 2 s storage;
  // the worker's slots were all taken by other stages from 7.5 to 9 s.
  const s = splitStage(
    [0, 10_000],
    [
      { startedAt: 1000, closedAt: 5000, storageSeconds: 1 },
      { startedAt: 3000, closedAt: 7000, storageSeconds: 1 },
    ],
    [
      [6000, 9000],
      [20_000, 30_000],
    ],
  );
  assert.equal(s.wallSeconds, 10);
  assert.equal(s.queuedSeconds, 2);
  assert.equal(s.temporalSeconds, 2);
  assert.equal(s.storageSeconds, 6 * (2 / 8));
  assert.equal(s.computeSeconds, 6 - 1.5);
  assert.deepEqual(splitStage([0, 1000], []), {
    wallSeconds: 1,
    temporalSeconds: 1,
    queuedSeconds: 0,
    storageSeconds: 0,
    computeSeconds: 0,
  });
});

test('cpuAt interpolates between samples; cpuWithin sums processes', () => {
  const a = [
    [1000, 0],
    [2000, 1],
    [3000, 3],
  ] as const;
  assert.equal(cpuAt(a, 500), 0);
  assert.equal(cpuAt(a, 1500), 0.5);
  assert.equal(cpuAt(a, 2500), 2);
  assert.equal(cpuAt(a, 9000), 3);
  assert.equal(cpuAt([], 1), 0);
  assert.equal(cpuWithin([a, a], [1500, 2500]), 3);
});

test('parseProcStat reads ppid and utime + stime past a command name with spaces and parentheses', () => {
  const line = '4242 (node (worker) x) S 17 4242 17 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 11 0 12345 0 0';
  assert.deepEqual(parseProcStat(line), { ppid: 17, cpuSeconds: 3 });
});

test('the storage meter counts object-storage requests, bytes and overlapping waits once, per scope and per thread', async () => {
  const s3 = await startTestS3();
  const dir = await mkdtemp(path.join(tmpdir(), 'hepflow-io-meter-'));
  try {
    const store = s3.storage();
    const base = `s3://${s3.bucket}/meter`;
    const before = threadStorageIo();
    const { result, io } = await meterStorage(async () => {
      await Promise.all([store.write(`${base}/a`, 'hello'), store.write(`${base}/b`, 'world!')]);
      const bytes = await store.readAll(`${base}/a`);
      const src = await store.openRead(`${base}/b`);
      const part = await src.read(1, 3);
      await src.close();
      const listed: string[] = [];
      for await (const o of store.list(`${base}/`)) listed.push(o.uri);
      const local = path.join(dir, 'b');
      await store.download(`${base}/b`, local);
      // The worker's own disk is not storage: these count nowhere.
      const file = pathToFileURL(local).href;
      await store.readAll(file);
      await store.write(`${file}.copy`, 'local');
      for await (const _ of store.list(pathToFileURL(dir).href + '/'));
      return { text: Buffer.from(bytes).toString(), part: Buffer.from(part).toString(), listed: listed.length };
    });
    assert.deepEqual(result, { text: 'hello', part: 'orl', listed: 2 });
    assert.equal(io.bytesWritten, 11);
    assert.equal(io.bytesRead, 5 + 3 + 6);
    // 2 writes, 1 read, open, ranged read, the listing's pages (2 objects + the end), the download.
    assert.equal(io.requests, 9);
    assert.ok(io.busyMs > 0);
    const after = threadStorageIo();
    assert.equal(after.requests - before.requests, 9);
    // Outside a scope, requests count for the thread only.
    await store.readAll(`${base}/a`);
    assert.equal(threadStorageIo().requests - before.requests, 10);
  } finally {
    await rm(dir, { recursive: true, force: true });
    await s3.stop();
  }
});

test('demoPhases splits the demo by its output lines; parseTimes reads bash times', () => {
  const lines = [
    { t: 0.5, line: '> bash infra/bootstrap.sh' },
    { t: 20, line: 'stack: temporal started, s3 started' },
    { t: 22, line: 'inputs: 8 uploaded' },
    { t: 25, line: 'started ingestWorkflow x' },
    { t: 31, line: 'started pipelineWorkflow y' },
    { t: 90, line: 'report: s3://hepflow/runs/y/report.md' },
    { t: 91, line: 'The stack is still running' },
  ];
  assert.deepEqual(demoPhases(lines), [
    { phase: 'bootstrap', seconds: 20 },
    { phase: 'stack and inputs', seconds: 5 },
    { phase: 'ingest', seconds: 6 },
    { phase: 'pipeline', seconds: 59 },
    { phase: 'rest', seconds: 1 },
  ]);
  assert.throws(
    () => demoPhases(lines.slice(0, 4)),
    /no line starting with 'started pipelineWorkflow' \(end of ingest\)/,
  );
  assert.equal(parseTimes(['0m0.004s 0m0.001s', '1m2.500s 0m7.500s']), 70);
  assert.throws(() => parseTimes(['0m0.004s 0m0.001s']), /unexpected output/);
});
