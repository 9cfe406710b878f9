/**
 * featuresWorkflow with its input on an HTTP server: the fan-out lists the directory
 * from the server's HTML index and every activity reads its file with ranged GETs.
 * Runs on a real Temporal dev server and a real rclone `serve http` over the shared
 * Delphes samples (../shared/testdata/delphes, linked, not copied).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { storage } from '../src/storage/index.js';
import { sharedTestData } from './helpers/testdata.js';
import { CPU_TASK_QUEUE } from '../src/contract/task-queues.js';
import type { FileResult } from '../src/contract/fan-out.js';
import type { FeaturesResult } from '../workflows/features.js';
import type { PrepareFileFeaturesResult } from '../src/stages/features.js';
import { startHttpServer, type TestHttpServer } from './helpers/http-server.js';
import { startTestTemporal } from './helpers/temporal.js';
import { startPoolWorker, type TestWorker } from './helpers/test-worker.js';

const DELPHES_DIR = path.join(path.dirname(sharedTestData), 'delphes');
const PROCESSES = ['qcd', 'ttbar', 'wjets'] as const;

/** Events passing the isolated-lepton filter per file, from ../shared/testdata/README.md. */
const SELECTED: Record<string, number> = {
  'delphes-qcd.root': 31,
  'delphes-ttbar.root': 121,
  'delphes-wjets.root': 155,
  'delphes-pu20-qcd.root': 6,
  'delphes-pu20-ttbar.root': 66,
  'delphes-pu20-wjets.root': 79,
};

let server: TestHttpServer;
let env: TestWorkflowEnvironment;
let worker: TestWorker;
let out: string;

before(async () => {
  out = mkdtempSync(path.join(os.tmpdir(), 'hepflow-http-wf-'));
  // A directory per process, as the paper's data is laid out: links to the shared files.
  for (const p of PROCESSES) {
    mkdirSync(path.join(out, 'served', p), { recursive: true });
    for (const f of [`delphes-${p}.root`, `delphes-pu20-${p}.root`])
      symlinkSync(path.join(DELPHES_DIR, f), path.join(out, 'served', p, f));
  }
  server = await startHttpServer('rclone', path.join(out, 'served'));
  env = await startTestTemporal();
  worker = await startPoolWorker(env, 'cpu', ['--max-activities', '2']);
});

after(async () => {
  await worker?.stop();
  await env?.teardown();
  await server?.stop();
  rmSync(out, { recursive: true, force: true });
});

const features = (workflowId: string): Promise<FeaturesResult> =>
  env.client.workflow.execute('featuresWorkflow', {
    taskQueue: CPU_TASK_QUEUE,
    workflowId,
    args: [
      {
        samples: PROCESSES.map((p) => ({ name: p, uri: `${server.url}${p}/` })),
        outputUri: pathToFileURL(path.join(out, 'features')).href,
      },
    ],
  });

test('featuresWorkflow over http:// directories, one per process: every file listed and read; a rerun reuses every part', async () => {
  const first = await features('features-http');
  assert.deepEqual([first.totals.ok, first.totals.failed], [6, 0]);
  const manifest = await storage().readJson<{ files: FileResult<PrepareFileFeaturesResult>[] }>(first.manifestUri);
  assert.deepEqual(
    manifest.files.map((f) => f.file.uri).sort(),
    PROCESSES.flatMap((p) => [
      `${server.url}${p}/delphes-${p}.root`,
      `${server.url}${p}/delphes-pu20-${p}.root`,
    ]).sort(),
  );
  for (const f of manifest.files) {
    assert.ok(f.status === 'ok', `${f.file.uri}: ${f.status === 'failed' ? f.error : ''}`);
    assert.equal(f.outcome.counters.withIsolatedLepton, SELECTED[path.basename(f.file.uri)], f.file.uri);
  }
  assert.deepEqual(
    first.perSample.map((s) => s.counters.rows),
    PROCESSES.map((p) => SELECTED[`delphes-${p}.root`]! + SELECTED[`delphes-pu20-${p}.root`]!),
  );
  // The parts are content-addressed by the server's identity of each file.
  const again = await features('features-http-again');
  assert.deepEqual(again.totals.counters, first.totals.counters);
  const rerun = await storage().readJson<{ files: FileResult<PrepareFileFeaturesResult>[] }>(again.manifestUri);
  for (const f of rerun.files) assert.ok(f.status === 'ok' && f.outcome.reused, `${f.file.uri} reused`);
});
