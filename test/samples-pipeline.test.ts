import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { storage, type Storage } from '../src/storage/index.js';
import type { PipelineInput, PipelineModel } from '../workflows/pipeline.js';
import type { FeaturesInput, FeaturesResult } from '../workflows/features.js';
import type { PipelineReport } from '../src/stages/report.js';
import type { BuildDatasetResult } from '../src/stages/dataset.js';
import type { SampleInput } from '../src/contract/samples.js';
import { CPU_TASK_QUEUE } from '../src/contract/task-queues.js';
import { startTestS3, type TestS3 } from './helpers/s3-server.js';
import { startTestTemporal } from './helpers/temporal.js';
import { startPoolWorker, type TestWorker } from './helpers/test-worker.js';
import { DELPHES, REAL_DELPHES, sharedDelphesFile, sharedFile } from './helpers/testdata.js';

// The whole pipeline on real Pythia8 + Delphes files, one directory per process.

let s3: TestS3;
let env: TestWorkflowEnvironment;
let worker: TestWorker;
let store: Storage;

type Name = keyof typeof REAL_DELPHES;
const dir = (name: string) => `s3://${s3.bucket}/delphes/${name}/`;
const sample = (name: Name): SampleInput => ({
  name,
  uri: dir(name),
  ...(name.endsWith('-pu20') ? { label: name.slice(0, -'-pu20'.length) } : {}),
});
const ALL = Object.keys(REAL_DELPHES) as Name[];

before(async () => {
  s3 = await startTestS3();
  Object.assign(process.env, s3.env);
  store = storage();
  env = await startTestTemporal();
  worker = await startPoolWorker(env, 'cpu', ['--max-activities', '2']);
  for (const name of ALL)
    await store.write(
      `${dir(name)}${REAL_DELPHES[name].file}`,
      readFileSync(sharedDelphesFile(REAL_DELPHES[name].file)),
    );
  await store.write(`${dir('nolepton')}${DELPHES.file}`, readFileSync(sharedFile(DELPHES.file)));
  await store.write(`${dir('broken')}good.root`, readFileSync(sharedDelphesFile(REAL_DELPHES.wjets.file)));
  await store.write(`${dir('broken')}not-root.root`, 'not a ROOT file\n'.repeat(100));
});

after(async () => {
  await worker?.stop();
  await env?.teardown();
  await s3?.stop();
});

// Tiny on purpose: the point is the wiring on real files, not the physics reach.
const MODELS: PipelineModel[] = [
  {
    name: 'hlf',
    spec: { kind: 'hlf', training: { epochs: 4, batchSize: 16 } },
    grid: {
      layers: [
        [20, 10],
        [50, 20, 10],
      ],
    },
    pointsInFlight: 2,
  },
  {
    name: 'gru',
    spec: { kind: 'particle-sequence', model: { maxLen: 20, gruUnits: 8 }, training: { epochs: 2, batchSize: 16 } },
  },
  {
    name: 'inclusive',
    spec: { kind: 'inclusive', model: { maxLen: 20, gruUnits: 8 }, training: { epochs: 2, batchSize: 16 } },
  },
];

const pipeline = (workflowId: string, input: PipelineInput): Promise<PipelineReport & { reportUri: string }> =>
  env.client.workflow.execute('pipelineWorkflow', { taskQueue: CPU_TASK_QUEUE, workflowId, args: [input] });

/** The causes of a failed workflow down to the first application error: what the user sees. */
async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await p;
  } catch (e) {
    for (let c: unknown = e; c; c = (c as Error).cause) if (c instanceof ApplicationFailure) return c;
    throw e;
  }
  assert.fail('expected the workflow to fail');
}

let three: PipelineReport & { reportUri: string };

test('three classes from six real samples: cut flow per sample, counts conserved into the dataset, every model on every class', async () => {
  three = await pipeline('real-three', {
    workUri: `s3://${s3.bucket}/runs/three`,
    samples: ALL.map(sample),
    models: MODELS,
  });
  assert.deepEqual(three.classes, ['qcd', 'ttbar', 'wjets']);
  for (const [i, name] of ALL.entries()) {
    const s = three.samples[i]!;
    assert.equal(s.name, name);
    assert.deepEqual([s.ok, s.failed], [1, 0]);
    assert.equal(s.counters.read, REAL_DELPHES[name].entries, `${name} read`);
    assert.equal(s.counters.withIsolatedLepton, REAL_DELPHES[name].selected, `${name} selected`);
    assert.equal(s.counters.rows, REAL_DELPHES[name].selected, `${name} rows`);
  }
  // Every selected event reaches the dataset's inputs, in its class; the balance keeps the smallest class.
  const selected = (c: string) =>
    ALL.filter((n) => n === c || n === `${c}-pu20`).reduce((a, n) => a + REAL_DELPHES[n].selected, 0);
  assert.deepEqual(three.dataset.available, {
    qcd: selected('qcd'),
    ttbar: selected('ttbar'),
    wjets: selected('wjets'),
  });
  assert.equal(three.dataset.parts, ALL.length);
  assert.equal(three.dataset.perClass, selected('qcd'));
  for (const c of three.classes)
    assert.equal(three.dataset.counts.train[c]! + three.dataset.counts.test[c]!, three.dataset.perClass);
  assert.deepEqual(
    three.models.map((m) => m.name),
    ['hlf', 'gru', 'inclusive'],
  );
  for (const m of three.models) {
    assert.deepEqual(Object.keys(m.evaluation.auc), ['qcd', 'ttbar', 'wjets'], `${m.name} evaluated per class`);
    for (const [c, auc] of Object.entries(m.evaluation.auc))
      assert.ok(auc >= 0 && auc <= 1, `${m.name} AUC ${c} ${auc}`);
    assert.equal(m.evaluation.confusion.length, 3, `${m.name}: one output per class`);
    assert.equal(m.evaluation.samples, 3 * three.dataset.counts.test.qcd!);
  }
  assert.equal(three.models[0]!.trained, 2);
  const md = Buffer.from(await store.readAll(three.reportUri)).toString();
  assert.match(md, /\| ttbar-pu20 \| ttbar \|/);
  assert.match(md, /test AUC qcd \| test AUC ttbar \| test AUC wjets/);
  console.log(md);
});

test('two classes (ttbar vs wjets): labels, model outputs and evaluation follow the samples', async () => {
  const r = await pipeline('real-two', {
    workUri: `s3://${s3.bucket}/runs/two`,
    samples: [sample('ttbar'), sample('wjets')],
    models: [{ name: 'hlf', spec: { kind: 'hlf', training: { epochs: 4, batchSize: 16 } } }],
  });
  assert.deepEqual(r.classes, ['ttbar', 'wjets']);
  assert.deepEqual(
    r.samples.map((s) => s.counters.rows),
    [REAL_DELPHES.ttbar.selected, REAL_DELPHES.wjets.selected],
  );
  assert.deepEqual(r.dataset.available, { ttbar: REAL_DELPHES.ttbar.selected, wjets: REAL_DELPHES.wjets.selected });
  assert.equal(r.dataset.perClass, REAL_DELPHES.ttbar.selected);
  const [hlf] = r.models;
  assert.deepEqual(Object.keys(hlf!.evaluation.auc), ['ttbar', 'wjets']);
  assert.equal(hlf!.evaluation.confusion.length, 2);
  assert.ok(hlf!.evaluation.auc.ttbar! > 0.5, `ttbar vs wjets AUC ${hlf!.evaluation.auc.ttbar}`);
});

test('a class that selects no event fails the run at the features stage, naming the sample and its cut flow', async () => {
  const f = await failure(
    pipeline('real-empty-class', {
      workUri: `s3://${s3.bucket}/runs/empty`,
      samples: [sample('wjets'), { name: 'nolepton', uri: dir('nolepton') }],
      emptyIfMissing: ['electrons', 'muons', 'missingEt'],
      models: [{ name: 'hlf', spec: { kind: 'hlf' } }],
    }),
  );
  assert.equal(f.type, 'EmptyClass');
  assert.equal(f.nonRetryable, true);
  assert.match(f.message, /no selected events of class 'nolepton'/);
  assert.match(f.message, new RegExp(`'nolepton' read ${DELPHES.entries} events in 1 files, selected 0`));
  assert.equal(
    await store.head(`s3://${s3.bucket}/runs/empty/dataset-dev/metadata.json`),
    undefined,
    'no dataset stage',
  );
});

test('a sample whose files all fail, a missing prefix, and failed files without the allowFailedFiles policy fail early with their causes', async () => {
  const features = (workflowId: string, input: FeaturesInput): Promise<FeaturesResult> =>
    env.client.workflow.execute('featuresWorkflow', { taskQueue: CPU_TASK_QUEUE, workflowId, args: [input] });
  const dead = await failure(
    features('f-dead', {
      samples: [sample('wjets'), { name: 'nolepton', uri: dir('nolepton') }],
      outputUri: `s3://${s3.bucket}/runs/dead`,
    }),
  );
  assert.equal(dead.type, 'SampleFailed');
  assert.match(
    dead.message,
    /sample 'nolepton': 1 of 1 files failed: 1× <file>: .*(Electron|MuonTight|MissingET).*\(s3:\/\/.*delphes-uproot-issue513\.root\)/,
  );
  const missing = await failure(
    features('f-missing', {
      samples: [sample('wjets'), { name: 'zz', uri: dir('zz') }],
      outputUri: `s3://${s3.bucket}/runs/missing`,
    }),
  );
  assert.match(
    missing.message,
    /sample 'zz': no \.root files under s3:\/\/.*\/delphes\/zz\/ \(missing or empty prefix\)/,
  );
  const samples = [sample('ttbar'), { name: 'wjets', uri: dir('broken') }];
  const partial = await failure(features('f-partial', { samples, outputUri: `s3://${s3.bucket}/runs/partial` }));
  assert.equal(partial.type, 'FilesFailed');
  assert.match(
    partial.message,
    /1 input files failed and allowFailedFiles is not set: sample 'wjets': 1 of 2 files failed/,
  );
  const allowed = await features('f-allowed', {
    samples,
    outputUri: `s3://${s3.bucket}/runs/allowed`,
    allowFailedFiles: true,
  });
  assert.deepEqual([allowed.totals.ok, allowed.totals.failed], [2, 1]);
  assert.equal(allowed.perSample[1]!.counters.rows, REAL_DELPHES.wjets.selected);
  const manifest = await store.readJson<{ allowFailedFiles: boolean }>(allowed.manifestUri);
  assert.equal(manifest.allowFailedFiles, true, 'the policy is recorded');
});

test("the dataset is this run's, bit for bit the same whatever the work URI, even over parts left by another run", async () => {
  const samples = ALL.map(sample);
  const run = async (work: string, id: string) => {
    await env.client.workflow.execute('featuresWorkflow', {
      taskQueue: CPU_TASK_QUEUE,
      workflowId: `${id}-features`,
      args: [{ samples, outputUri: `${work}/features` }],
    });
    return env.client.workflow.execute('datasetWorkflow', {
      taskQueue: CPU_TASK_QUEUE,
      workflowId: `${id}-dataset`,
      args: [{ featuresUri: `${work}/features`, outputUri: `${work}/datasets`, seed: 3 }],
    }) as Promise<{ full: BuildDatasetResult }>;
  };
  // The two-class run's parts (other labels, so other parts) stay under runs/two/features/parts/.
  const [other, clean] = [
    await run(`s3://${s3.bucket}/runs/two`, 'again'),
    await run(`s3://${s3.bucket}/elsewhere/x`, 'clean'),
  ];
  assert.equal(other.full.parts, ALL.length, "exactly the manifest's parts");
  for (const f of ['train.parquet', 'test.parquet', 'metadata.json', 'scaler.json', 'particle-scaler.json']) {
    const [a, b] = await Promise.all([
      store.readAll(`${other.full.datasetUri}/${f}`),
      store.readAll(`${clean.full.datasetUri}/${f}`),
    ]);
    assert.ok(Buffer.from(a).equals(Buffer.from(b)), `${f} identical`);
  }
});

test('malformed workflow input fails at once, non-retryably, naming the key and the expectation', async () => {
  const bad = async (id: string, input: unknown, pattern: RegExp) => {
    const f = await failure(
      env.client.workflow.execute('pipelineWorkflow', { taskQueue: CPU_TASK_QUEUE, workflowId: id, args: [input] }),
    );
    assert.equal(f.type, 'InvalidWorkflowInput');
    assert.equal(f.nonRetryable, true);
    assert.match(f.message, pattern);
  };
  await bad('bad-1', { workUri: 42, samples: [], models: 'hlf' }, /^input\.workUri: expected a storage URI .*, got 42/);
  await bad(
    'bad-2',
    { workUri: 's3:/hepflow/x', samples: [sample('qcd'), sample('ttbar')], models: MODELS },
    /input\.workUri: expected a URI such as s3:\/\/bucket\/key .*, got "s3:\/hepflow\/x"/,
  );
  await bad(
    'bad-3',
    { workUri: `s3://${s3.bucket}/x`, samples: [sample('qcd'), sample('ttbar')] },
    /input\.models: expected a list of at least 1 of a model .*but it is missing/,
  );
  await bad(
    'bad-4',
    { workUri: `s3://${s3.bucket}/x`, samples: [sample('qcd'), { name: 'ttbar', uri: 'not a uri' }], models: MODELS },
    /input\.samples\[1\]\.uri: expected a URI/,
  );
  await bad(
    'bad-5',
    { workUri: `s3://${s3.bucket}/x`, samples: [sample('qcd')], models: MODELS },
    /input\.samples: expected samples of at least two classes/,
  );
  await bad(
    'bad-6',
    { workUri: `s3://${s3.bucket}/x`, samples: [sample('qcd'), sample('ttbar')], models: MODELS, epochs: 3 },
    /input\.epochs: expected no such key/,
  );
});
