/**
 * distributedTrainWorkflow against the real dev server and S3 server: with the shards
 * trained by two separate worker processes (the GPU pool's worker, which serves shard
 * rounds), one is SIGKILLed while both are training a round, the survivor redoes that
 * shard from the round's stored start, and the model comes out complete and as good as
 * single-worker training's. And the ways a user reaches it: `hepflow train --workers N`
 * (the CLI, in its own process, against this pool), the grid search's `workers`, and the
 * `setWorkers` signal through the Temporal client.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { CancelledFailure, WorkflowFailedError } from '@temporalio/client';
import { storage, type Storage } from '../src/storage/index.js';
import { buildPhysicsDataset } from './helpers/physics-data.js';
import { modelConfig } from '../src/ml/models.js';
import { defaultTrainConfig } from '../src/ml/training/config.js';
import { trainRun } from '../src/stages/train.js';
import { evaluateOnTestSet } from '../src/stages/evaluate.js';
import { runLayout } from '../src/ml/distributed/layout.js';
import type { DistributedTrainResult } from '../src/contract/distributed-rounds.js';
import {
  distributedTrainWorkflow,
  setWorkersSignal,
  statusQuery,
  type DistributedTrainInput,
} from '../workflows/distributed-train.js';
import type { GridSearchInput, GridSearchResult } from '../workflows/grid-search.js';
import type { PipelineInput } from '../workflows/pipeline.js';
import { CPU_TASK_QUEUE } from '../src/contract/task-queues.js';
import { startTestS3, type TestS3 } from './helpers/s3-server.js';
import { startTestTemporal } from './helpers/temporal.js';
import { startPoolWorker, startWorkerProcess, type TestWorker, type WorkerProcess } from './helpers/test-worker.js';
import { until } from './helpers/until.js';

let s3: TestS3;
let env: TestWorkflowEnvironment;
let worker: TestWorker;
let store: Storage;
let dir: string;
let datasetUri: string;
const children = new Set<ChildProcess>();
const shardWorkers = new Set<WorkerProcess>();

before(async () => {
  s3 = await startTestS3();
  Object.assign(process.env, s3.env);
  store = storage();
  dir = await mkdtemp(path.join(tmpdir(), 'hepflow-distributed-wf-'));
  const ds = await buildPhysicsDataset({ dir, selectedPerClass: 1200, seed: 3, rowGroupSize: 100 });
  datasetUri = `s3://${s3.bucket}/dataset`;
  const local = path.dirname(ds.trainPath);
  for (const f of await readdir(local)) await store.write(`${datasetUri}/${f}`, await readFile(path.join(local, f)));
  env = await startTestTemporal();
  // Hosts the workflow, the plan and the aggregation; the shards go to the GPU pool's queue.
  worker = await startPoolWorker(env, 'cpu', ['--max-activities', '1']);
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all([...shardWorkers].map((w) => w.kill()));
  await worker?.stop();
  await env?.teardown();
  await s3?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** What a process of ours needs to reach this test's servers (and nothing of a local stack). */
const processEnv = () => ({
  ...process.env,
  ...s3.env,
  TEMPORAL_ADDRESS: env.address,
  TEMPORAL_NAMESPACE: 'default',
  HEPFLOW_STACK: 'none',
});

function shardWorkerProcess(): WorkerProcess {
  const w = startWorkerProcess(env, 'gpu', s3.env);
  shardWorkers.add(w);
  return w;
}

// 16 epochs: at 8 the spread between random initialisations alone reaches ±0.005 on this small set.
const config = defaultTrainConfig(modelConfig('hlf'), { epochs: 16, backend: 'wasm' });

test("two worker processes train one model; one killed mid-round costs only that shard's round", {
  timeout: 40 * 60_000,
}, async (t) => {
  // The timeout is a guard, not a measure: this run took 11 minutes at a load average of 20 on 2 cores.
  const outputUri = `s3://${s3.bucket}/runs/killed`;
  const input: DistributedTrainInput = {
    // The killed shard is retried this long after its last heartbeat, which the test waits
    // out. Four of the worker's 5-s heartbeats (maxHeartbeatThrottleInterval): a loaded
    // machine does not miss that many, and if a live shard timed out all the same, its retry
    // would be one more the assertions below allow for.
    runId: 'killed',
    datasetUri,
    outputUri,
    config,
    workers: 2,
    localSteps: 8,
    pool: 'gpu',
    heartbeatTimeout: '20 seconds',
    roundsPerRun: 10,
  };
  // The single-worker reference, trained meanwhile: the run below leaves the CPU idle
  // while it waits out the killed shard's heartbeat timeout.
  const singleEvaluated = trainRun(
    { runId: 'single', datasetUri, outputUri: `s3://${s3.bucket}/runs/single`, config },
    { log: () => undefined, store: storage() },
  ).then((single) =>
    evaluateOnTestSet(
      { modelUri: single.modelUri, datasetUri, outputUri: `s3://${s3.bucket}/runs/single/evaluation` },
      storage(),
    ),
  );
  // Awaited below; should the test fail first, its failure is not an unhandled rejection.
  singleEvaluated.catch(() => undefined);
  const a = shardWorkerProcess();
  const b = shardWorkerProcess();
  const handle = await env.client.workflow.start('distributedTrainWorkflow', {
    taskQueue: CPU_TASK_QUEUE,
    workflowId: 'distributed-killed',
    args: [input],
  });
  const layout = runLayout(outputUri);
  // Round 0 is complete and both shards of a later round are running (one per process).
  await until(
    async () => {
      if (!(await store.head(layout.start(1).state))) return false;
      const { raw } = await handle.describe();
      // A heartbeat means the shard is training (each process runs one activity at a time).
      const training = (raw.pendingActivities ?? []).filter(
        (p) => p.activityType?.name === 'trainShardRound' && p.heartbeatDetails != null,
      );
      return training.length === 2;
    },
    { what: 'a round with both shards running', deadline: 10 * 60_000 },
  );
  await a.kill();
  let r: DistributedTrainResult;
  try {
    r = await handle.result();
  } finally {
    b.child.kill('SIGTERM');
    await b.exited;
  }
  assert.equal(r.epochsCompleted, 16);
  assert.equal(
    r.totals.rounds,
    r.workersPerRound.reduce((s, [, n]) => s + n, 0),
  );
  // The history was continued as new (10 rounds per run) and a shard was retried after the kill.
  const runIds: string[] = [];
  await until(
    async () => {
      runIds.length = 0;
      for await (const h of env.client.workflow.list({ query: `WorkflowId = 'distributed-killed'` }))
        runIds.push(h.runId);
      return runIds.length >= 2;
    },
    { what: 'the runs to be listed', deadline: 10 * 60_000 },
  );
  let retried = false;
  for (const runId of runIds) {
    const history = await env.client.workflow.getHandle('distributed-killed', runId).fetchHistory();
    retried ||= (history.events ?? []).some((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1);
  }
  assert.ok(retried, 'a shard activity was retried after its worker was killed');
  // Complete and equal in quality: the model evaluates like single-worker training's.
  const e = await evaluateOnTestSet(
    { modelUri: r.modelUri, datasetUri, outputUri: `${outputUri}/evaluation` },
    storage(),
  );
  const es = await singleEvaluated;
  t.diagnostic(
    `single ${JSON.stringify(es.auc)}; distributed (killed worker) ${JSON.stringify(e.auc)}; totals ${JSON.stringify(r.totals)}`,
  );
  for (const cls of Object.keys(es.auc)) {
    assert.ok(
      Math.abs(e.auc[cls]! - es.auc[cls]!) < 0.01,
      `${cls}: distributed ${e.auc[cls]} vs single ${es.auc[cls]}`,
    );
  }
});

test('cancelling the workflow cancels the round in flight and starts no further round', {
  timeout: 10 * 60_000,
}, async () => {
  const outputUri = `s3://${s3.bucket}/runs/cancelled`;
  const w = shardWorkerProcess();
  try {
    const input: DistributedTrainInput = {
      runId: 'cancelled',
      datasetUri,
      outputUri,
      config,
      workers: 2,
      localSteps: 8,
      pool: 'gpu',
    };
    const handle = await env.client.workflow.start('distributedTrainWorkflow', {
      taskQueue: CPU_TASK_QUEUE,
      workflowId: 'distributed-cancelled',
      args: [input],
    });
    const layout = runLayout(outputUri);
    await until(async () => (await store.head(layout.start(1).state)) !== undefined, {
      what: 'round 1 to start',
      deadline: 10 * 60_000,
    });
    // Freeze the pool's only worker: its shards can no longer finish, so the run stops
    // advancing whatever the machine's speed (a round of the fused HLF step takes
    // milliseconds), and the workflow ends up waiting on pool activities alone.
    w.child.kill('SIGSTOP');
    const poolActivities = new Set(['trainShardRound', 'validateRoundPart']);
    await until(
      async () => {
        const pending = (await handle.describe()).raw.pendingActivities ?? [];
        return pending.length > 0 && pending.every((p) => poolActivities.has(p.activityType?.name ?? ''));
      },
      { what: 'the run to wait on the frozen pool only', deadline: 10 * 60_000 },
    );
    let started = 1;
    while ((await store.head(layout.start(started + 1).state)) !== undefined) started++;
    await handle.cancel();
    await assert.rejects(
      handle.result(),
      (err: Error) => err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure,
    );
    const history = await handle.fetchHistory();
    assert.ok(
      history.events!.some((e) => e.activityTaskCancelRequestedEventAttributes),
      'the shards in flight were asked to stop',
    );
    // How a shard stops between batches is tested without Temporal (distributed-train.test.ts).
    assert.equal(await store.head(layout.start(started + 1).state), undefined, 'training did not go on');
  } finally {
    // A stopped process handles SIGTERM only once it runs again.
    w.child.kill('SIGCONT');
    w.child.kill('SIGTERM');
    await w.exited;
  }
});

const meanAuc = (auc: Record<string, number>) =>
  Object.values(auc).reduce((a, b) => a + b, 0) / Object.keys(auc).length;
const short = defaultTrainConfig(modelConfig('hlf'), { epochs: 2, backend: 'wasm' });

test('`hepflow train --workers 2` (the CLI in its own process) trains one model data-parallel on the running pool', {
  timeout: 10 * 60_000,
}, async () => {
  const out = `s3://${s3.bucket}/runs/cli`;
  const cli = fileURLToPath(new URL('../cli/hepflow.js', import.meta.url));
  const args = [
    'train',
    '--model',
    'hlf',
    '--data',
    datasetUri,
    '--out',
    out,
    '--epochs',
    '2',
    '--backend',
    'wasm',
    '--workers',
    '2',
    '--local-steps',
    '8',
  ];
  const child = spawn(process.execPath, [cli, ...args], { env: processEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '',
    stderr = '';
  child.stdout!.on('data', (d) => {
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  assert.equal(code, 0, `${stdout}\n${stderr}`);
  assert.match(stdout, /started distributedTrainWorkflow hepflow-train-/);
  assert.match(stdout, /2 epochs in \d+ rounds \(workers per round 2×\d+/);
  assert.match(stdout, new RegExp(`model → ${out}/model`));
  const meta = await store.readJson<{
    config: { epochs: number; classNames: string[] };
    distributed: { workersPerRound: [number, number][] };
  }>(`${out}/model/metadata.json`);
  assert.equal(meta.config.epochs, 2);
  assert.deepEqual(
    meta.distributed.workersPerRound.map(([w]) => w),
    [2],
  );
  // Two epochs: the wiring is tested here, equal quality by the 16-epoch tests.
  const e = await evaluateOnTestSet(
    { modelUri: `${out}/model`, datasetUri, outputUri: `${out}/evaluation` },
    storage(),
  );
  assert.ok(meanAuc(e.auc) > 0.75, `learned: ${JSON.stringify(e.auc)}`);
});

test('`hepflow run --workers 3 --local-steps 5` starts a pipeline whose every model trains on 3 workers', {
  timeout: 5 * 60_000,
}, async () => {
  const cli = fileURLToPath(new URL('../cli/hepflow.js', import.meta.url));
  const args = [
    'run',
    '--events',
    '100',
    '--files',
    '1',
    '--work',
    `s3://${s3.bucket}/runs/cli-run`,
    '--workers',
    '3',
    '--local-steps',
    '5',
    '--no-wait',
  ];
  const child = spawn(process.execPath, [cli, ...args], { env: processEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  let stdout = '';
  child.stdout!.on('data', (d) => {
    stdout += d;
  });
  assert.equal(await new Promise<number | null>((r) => child.once('exit', r)), 0, stdout);
  const id = /started pipelineWorkflow (\S+)/.exec(stdout)?.[1];
  assert.ok(id, stdout);
  const handle = env.client.workflow.getHandle(id);
  // What the workflow was started with is what it trains with; the run itself is not needed here.
  const history = await handle.fetchHistory();
  await handle.terminate('input checked');
  const payload = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
  const input = JSON.parse(Buffer.from(payload.data!).toString('utf8')) as PipelineInput;
  assert.deepEqual(
    input.models.map((m) => m.name),
    ['hlf', 'gru', 'inclusive'],
  );
  for (const m of input.models) assert.deepEqual([m.workers, m.localSteps], [3, 5], m.name);
});

test('grid search with workers: 2 trains every point as one distributed training and selects among them', {
  timeout: 10 * 60_000,
}, async () => {
  const input: GridSearchInput = {
    datasetUri,
    outputUri: `s3://${s3.bucket}/grid`,
    spec: { kind: 'hlf', training: { epochs: 2, backend: 'wasm' } },
    grid: { batch: [64, 128] },
    pointsInFlight: 2,
    workers: 2,
    localSteps: 8,
  };
  const r: GridSearchResult = await env.client.workflow.execute('gridSearchWorkflow', {
    taskQueue: CPU_TASK_QUEUE,
    workflowId: 'grid-distributed',
    args: [input],
  });
  assert.equal(r.trained, 2);
  assert.deepEqual(r.failed, []);
  for (const runId of ['b64', 'b128']) {
    const child = env.client.workflow.getHandle(`grid-distributed/${runId}`);
    assert.equal((await child.describe()).type, 'distributedTrainWorkflow', `${runId} trained data-parallel`);
    const d: DistributedTrainResult = await child.result();
    assert.deepEqual(
      d.workersPerRound.map(([w]) => w),
      [2],
    );
    assert.equal(d.epochsCompleted, 2);
  }
  assert.match(r.best.modelUri, /\/grid\/runs\/b(64|128)\/model$/);
  assert.ok(meanAuc(r.evaluation.auc) > 0.75, `learned: ${JSON.stringify(r.evaluation.auc)}`);
});

test('setWorkers through the Temporal client changes the number of workers from a later round on; a bad count is ignored', {
  timeout: 10 * 60_000,
}, async () => {
  const outputUri = `s3://${s3.bucket}/runs/elastic`;
  const input: DistributedTrainInput = {
    runId: 'elastic',
    datasetUri,
    outputUri,
    config: { ...short, epochs: 3 },
    workers: 1,
    localSteps: 8,
  };
  const handle = await env.client.workflow.start(distributedTrainWorkflow, {
    taskQueue: CPU_TASK_QUEUE,
    workflowId: 'distributed-elastic',
    args: [input],
  });
  // Round 1 has started: the run has rounds to go (several per epoch), so the signal lands before its end.
  await until(async () => (await store.head(runLayout(outputUri).start(1).state)) !== undefined, {
    what: 'round 1 to start',
    deadline: 10 * 60_000,
  });
  await handle.signal(setWorkersSignal, 0);
  await handle.signal(setWorkersSignal, 3);
  const r = await handle.result();
  const counts = r.workersPerRound.map(([w]) => w);
  assert.equal(counts[0], 1);
  assert.equal(counts[counts.length - 1], 3, `workers per round ${JSON.stringify(r.workersPerRound)}`);
  assert.ok(
    counts.every((w) => w === 1 || w === 3),
    'the bad count 0 was never used',
  );
  assert.equal(r.epochsCompleted, 3);
  assert.equal((await handle.query(statusQuery)).workers, 3);
});
