import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { storage, type Storage } from '../src/storage/index.js';
import type { IngestInput } from '../workflows/ingest.js';
import type { FanOutResult, FileResult } from '../src/contract/fan-out.js';
import type { TreeSummary } from '../src/root/tree-summary.js';
import { startTestS3, type TestS3 } from './helpers/s3-server.js';
import { startTestTemporal } from './helpers/temporal.js';
import { startPoolWorker, type TestWorker } from './helpers/test-worker.js';
import { DELPHES, HZZ, ZMUMU, sharedFile } from './helpers/testdata.js';

const TASK_QUEUE = 'test-ingest';
let s3: TestS3;
let env: TestWorkflowEnvironment;
let worker: TestWorker;
let store: Storage;

before(async () => {
  s3 = await startTestS3();
  Object.assign(process.env, s3.env);
  store = storage();
  env = await startTestTemporal();
  worker = await startPoolWorker(
    env,
    'cpu',
    ['--task-queue', TASK_QUEUE, '--max-activities', '4', '--max-workflow-tasks', '10'],
    undefined,
    {},
  );
  const hzz = `s3://${s3.bucket}/in/hzz/`;
  for (const name of HZZ.files) await store.write(hzz + name, readFileSync(sharedFile(name)));
  const whole = readFileSync(sharedFile('uproot-HZZ.root'));
  await store.write(hzz + 'truncated.root', whole.subarray(0, Math.floor(whole.length * 0.6)));
  await store.write(hzz + 'not-root.root', 'definitely not ROOT\n'.repeat(100));
  await store.write(`s3://${s3.bucket}/in/other/${DELPHES.file}`, readFileSync(sharedFile(DELPHES.file)));
  await store.write(`s3://${s3.bucket}/in/other/${ZMUMU.file}`, readFileSync(sharedFile(ZMUMU.file)));
});

after(async () => {
  await worker?.stop();
  await env?.teardown();
  await s3?.stop();
});

async function ingest(id: string, input: IngestInput) {
  const handle = await env.client.workflow.start('ingestWorkflow', {
    taskQueue: TASK_QUEUE,
    workflowId: id,
    args: [input],
  });
  const result = (await handle.result()) as FanOutResult;
  const manifest = await store.readJson<{ files: FileResult<TreeSummary>[] }>(result.manifestUri);
  const byName = new Map(manifest.files.map((f) => [f.file.uri.slice(f.file.uri.lastIndexOf('/') + 1), f]));
  return { handle, result, byName };
}

test('ingestWorkflow reads every file over S3, records bad ones, and continues as new', async () => {
  const { handle, result, byName } = await ingest('ingest-hzz', {
    inputUri: `s3://${s3.bucket}/in/hzz/`,
    outputUri: `s3://${s3.bucket}/runs/hzz`,
    treeName: 'events',
    statBranches: ['NMuon', 'MET_px', 'Jet_Px', 'Muon_Px'],
    // Lowered thresholds: 3 child batches, a continue-as-new after each.
    batchSize: 3,
    batchesPerRun: 1,
    filesInFlight: 2,
  });
  assert.deepEqual(result.listing.files, 8);
  assert.deepEqual([result.totals.ok, result.totals.failed, result.totals.counters.entries], [6, 2, 6 * HZZ.entries]);
  for (const name of HZZ.files) {
    const f = byName.get(name);
    assert.ok(f?.status === 'ok', `${name} read`);
    const s = f.outcome;
    assert.equal(s.entries, HZZ.entries);
    assert.equal(s.stats.NMuon!.sum, HZZ.nMuonSum);
    assert.deepEqual(s.stats.Muon_Px!.first, HZZ.firstMuonPx);
    assert.ok(Math.abs(s.stats.MET_px!.sum - HZZ.metPxSum) < 1e-6);
    assert.equal(s.stats.Jet_Px!.count, HZZ.jetPxCount);
    assert.ok(Math.abs(s.stats.Jet_Px!.sum - HZZ.jetPxSum) < 1e-5);
  }
  for (const name of ['truncated.root', 'not-root.root']) {
    const f = byName.get(name);
    assert.ok(f?.status === 'failed', `${name} failed`);
    assert.equal(f.errorType, 'RootFormatError');
    assert.ok(f.error.includes(`s3://${s3.bucket}/in/hzz/${name}`), f.error);
  }
  assert.deepEqual(result.failures.map((f) => f.uri.split('/').pop()).sort(), ['not-root.root', 'truncated.root']);
  const first = await env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).describe();
  assert.equal(first.status.name, 'CONTINUED_AS_NEW');
});

test("ingestWorkflow finds each file's tree: real Delphes TClonesArray branches and a flat ntuple", async () => {
  const { result, byName } = await ingest('ingest-other', {
    inputUri: `s3://${s3.bucket}/in/other/`,
    outputUri: `s3://${s3.bucket}/runs/other`,
  });
  assert.deepEqual([result.totals.ok, result.totals.failed], [2, 0]);
  const d = byName.get(DELPHES.file);
  assert.ok(d?.status === 'ok');
  assert.equal(d.outcome.treeName, 'Delphes');
  assert.equal(d.outcome.entries, DELPHES.entries);
  assert.ok(['Jet', 'EFlowTrack', 'EFlowPhoton', 'EFlowNeutralHadron'].every((b) => d.outcome.branches.includes(b)));
  const z = byName.get(ZMUMU.file);
  assert.ok(z?.status === 'ok');
  assert.equal(z.outcome.entries, ZMUMU.entries);
});
