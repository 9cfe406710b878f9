// scoreWorkflow on the real Temporal dev server and S3 server: one activity per file,
// a bad file recorded without stopping the rest, the selection's outputs, rerun reuse.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { storage, type Storage } from '../src/storage/index.js';
import { generateDelphesFile } from '../src/generator/file.js';
import { parseSelection, type EfficiencyTable } from '../src/scoring/selection.js';
import { CPU_TASK_QUEUE } from '../src/contract/task-queues.js';
import type { ScoreInput, ScoreResult } from '../workflows/score.js';
import { startTestS3, type TestS3 } from './helpers/s3-server.js';
import { startTestTemporal } from './helpers/temporal.js';
import { startPoolWorker, type TestWorker } from './helpers/test-worker.js';
import { trainedModelDir } from './helpers/trained-model.js';

let s3: TestS3;
let env: TestWorkflowEnvironment;
let worker: TestWorker;
let store: Storage;
let input: ScoreInput;

before(async () => {
  s3 = await startTestS3();
  Object.assign(process.env, s3.env);
  store = storage();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hepflow-score-wf-'));
  await mkdir(path.join(dir, 'in'));
  const bucket = `s3://${s3.bucket}`;
  for (const [i, seed] of [
    [0, 21],
    [1, 22],
  ] as const) {
    const f = await generateDelphesFile(path.join(dir, 'in', `events-${i}.root`), {
      events: 250,
      seed,
      mix: 'balanced',
    });
    await store.write(`${bucket}/in/events-${i}.root`, await readFile(f.path));
    await store.write(`${bucket}/in/events-${i}.labels.json`, await readFile(f.labelsPath));
  }
  await store.write(`${bucket}/in/broken.root`, 'this is not a ROOT file');
  const modelDir = await trainedModelDir(dir, 'hlf');
  for (const f of await readdir(modelDir))
    await store.write(`${bucket}/models/hlf/${f}`, await readFile(path.join(modelDir, f)));
  input = {
    modelUri: `${bucket}/models/hlf`,
    inputUri: `${bucket}/in/`,
    outputUri: `${bucket}/scores/run1`,
    labels: { from: 'sidecar', classes: ['qcd', 'ttbar', 'wjets'] },
    selection: parseSelection('wjets>=0.5', ['qcd', 'ttbar', 'wjets']),
    batchSize: 2,
    filesInFlight: 2,
  };
  env = await startTestTemporal();
  worker = await startPoolWorker(env, 'cpu', ['--max-activities', '2']);
});

after(async () => {
  await worker?.stop();
  await env?.teardown();
  await s3?.stop();
});

test('scoreWorkflow: a part per file, the broken file recorded, efficiency and accepted list over all parts', async () => {
  const r: ScoreResult = await env.client.workflow.execute('scoreWorkflow', {
    taskQueue: CPU_TASK_QUEUE,
    workflowId: 'score-1',
    args: [input],
  });
  assert.equal(r.listing.files, 3);
  assert.equal(r.totals.ok, 2);
  assert.equal(r.totals.failed, 1);
  assert.match(r.failures[0]!.error, /broken\.root/);
  assert.equal(r.totals.counters.read, 500);
  assert.ok(r.rows > 50 && r.rows === r.totals.counters.scored, `rows ${r.rows}`);
  const table = await store.readJson<EfficiencyTable>(r.efficiencyUri!);
  assert.deepEqual(
    table.classes.map((c) => c.truth),
    ['qcd', 'ttbar', 'wjets'],
  );
  assert.equal(
    table.classes.reduce((s, c) => s + c.events, 0),
    r.rows,
  );
  const accepted = table.classes.reduce((s, c) => s + c.accepted, 0);
  assert.equal(accepted, r.totals.counters.accepted);
  const list = Buffer.from(await store.readAll(r.acceptedUri!))
    .toString()
    .trim()
    .split('\n');
  assert.equal(list.length - 1, accepted);
  assert.ok(
    list.slice(1).every((l) => /^"s3:\/\/[^"]+\/in\/events-[01]\.root",\d+,[0-9.e-]+$/.test(l)),
    list[1],
  );
});

test('scoreWorkflow rerun reuses every committed part', async () => {
  const r: ScoreResult = await env.client.workflow.execute('scoreWorkflow', {
    taskQueue: CPU_TASK_QUEUE,
    workflowId: 'score-2',
    args: [input],
  });
  const manifest = await store.readJson<{ files: { status: string; outcome?: { reused: boolean } }[] }>(r.manifestUri);
  const ok = manifest.files.filter((f) => f.status === 'ok');
  assert.equal(ok.length, 2);
  assert.ok(ok.every((f) => f.outcome!.reused));
});
