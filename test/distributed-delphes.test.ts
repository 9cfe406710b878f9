/**
 * Distributed training on the real Pythia8 + Delphes samples (../shared/testdata/delphes,
 * with and without pile-up): a pipeline run asked for `workers` trains its model
 * data-parallel through the dev server and the S3 server. With HEPFLOW_SLOW=1, on the
 * dataset it built, single-worker training (two seeds: the noise floor) and 2 and 3
 * workers with the same epochs are compared on the test set. That comparison is opt-in:
 * it takes several minutes on a loaded machine, and the samples leave ~8 test events per
 * class, where one swapped pair of scores moves an AUC by ~0.01, so it reports figures
 * (docs/distributed.md) rather than asserting a 0.005 agreement the data cannot resolve.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { storage, type Storage } from '../src/storage/index.js';
import type { PipelineInput } from '../workflows/pipeline.js';
import type { PipelineReport } from '../src/stages/report.js';
import type { SampleInput } from '../src/contract/samples.js';
import type { DistributedTrainResult } from '../src/contract/distributed-rounds.js';
import { resolveTrainSpec } from '../src/stages/train-spec.js';
import type { TrainSpec } from '../src/stages/train-spec.js';
import { trainRun } from '../src/stages/train.js';
import { evaluateOnTestSet } from '../src/stages/evaluate.js';
import { CPU_TASK_QUEUE } from '../src/contract/task-queues.js';
import { startTestS3, type TestS3 } from './helpers/s3-server.js';
import { startTestTemporal } from './helpers/temporal.js';
import { startPoolWorker, type TestWorker } from './helpers/test-worker.js';
import { REAL_DELPHES, sharedDelphesFile } from './helpers/testdata.js';
import { trainInThreads } from './helpers/distributed.js';

let s3: TestS3;
let env: TestWorkflowEnvironment;
let worker: TestWorker;
let store: Storage;

type Name = keyof typeof REAL_DELPHES;
const ALL = Object.keys(REAL_DELPHES) as Name[];
const sample = (name: Name): SampleInput => ({
  name,
  uri: `s3://${s3.bucket}/delphes/${name}/`,
  ...(name.endsWith('-pu20') ? { label: name.slice(0, -'-pu20'.length) } : {}),
});

before(async () => {
  s3 = await startTestS3();
  Object.assign(process.env, s3.env);
  store = storage();
  env = await startTestTemporal();
  worker = await startPoolWorker(env, 'cpu', ['--max-activities', '2']);
  for (const name of ALL)
    await store.write(
      `s3://${s3.bucket}/delphes/${name}/${REAL_DELPHES[name].file}`,
      readFileSync(sharedDelphesFile(REAL_DELPHES[name].file)),
    );
});

after(async () => {
  await worker?.stop();
  await env?.teardown();
  await s3?.stop();
});

// Row groups of 16 rows: the row group is the unit of sharding, and these samples give ~100 rows in all.
const SPEC: TrainSpec = { kind: 'hlf', training: { epochs: 10, batchSize: 8, backend: 'wasm' } };
let report: PipelineReport;

test('a pipeline run with workers: 2 trains its model data-parallel (real samples, with and without pile-up)', {
  timeout: 10 * 60_000,
}, async () => {
  const input: PipelineInput = {
    workUri: `s3://${s3.bucket}/runs/real`,
    samples: ALL.map(sample),
    dataset: { rowGroupSize: 16 },
    register: false,
    models: [{ name: 'hlf', spec: { ...SPEC, training: { ...SPEC.training, epochs: 3 } }, workers: 2, localSteps: 4 }],
  };
  report = await env.client.workflow.execute('pipelineWorkflow', {
    taskQueue: CPU_TASK_QUEUE,
    workflowId: 'real-dist',
    args: [input],
  });
  const [m] = report.models;
  const child = env.client.workflow.getHandle(`real-dist-grid-hlf/${m!.best.runId}`);
  assert.equal((await child.describe()).type, 'distributedTrainWorkflow');
  const d: DistributedTrainResult = await child.result();
  assert.deepEqual(
    d.workersPerRound.map(([w]) => w),
    [2],
    'every round had 2 shards',
  );
  assert.equal(d.epochsCompleted, 3);
  assert.deepEqual(Object.keys(m!.evaluation.auc), ['qcd', 'ttbar', 'wjets']);
});

test('same epochs on the real samples: 2 and 3 workers against single-worker training, test AUC per class', {
  skip: !process.env.HEPFLOW_SLOW,
  timeout: 30 * 60_000,
}, async (t) => {
  const { datasetUri, classes, counts } = report.dataset;
  const config = resolveTrainSpec(SPEC, classes);
  const out = (name: string) => `s3://${s3.bucket}/compare/${name}`;
  const evaluate = (modelUri: string, name: string) =>
    evaluateOnTestSet({ modelUri, datasetUri, outputUri: `${out(name)}/evaluation` }, storage());
  const runs = [];
  for (const seed of [config.seed, config.seed + 1]) {
    const single = await trainRun(
      { runId: 'single', datasetUri, outputUri: out(`single-${seed}`), config: { ...config, seed } },
      { log: () => undefined, store: storage() },
    );
    runs.push({ name: `single worker, seed ${seed}`, e: await evaluate(single.modelUri, `single-${seed}`) });
  }
  for (const n of [2, 3]) {
    const d = await trainInThreads({ datasetUri, outputUri: out(`w${n}`), config, workersAt: () => n, localSteps: 4 });
    assert.deepEqual(
      d.workersPerRound.map(([w]) => w),
      [n],
    );
    runs.push({ name: `${n} workers`, e: await evaluate(d.modelUri, `w${n}`) });
  }
  const fmt = (a: Record<string, number>) => classes.map((c) => `${c} ${a[c]!.toFixed(4)}`).join(', ');
  t.diagnostic(
    `events train ${JSON.stringify(counts.train)}, test ${JSON.stringify(counts.test)}; ${SPEC.training!.epochs} epochs`,
  );
  for (const r of runs) t.diagnostic(`${r.name}: ${fmt(r.e.auc)}`);
});
