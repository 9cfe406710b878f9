/**
 * featuresWorkflow with its input on an HTTP server: the fan-out lists the directory
 * from the server's HTML index and every activity reads its file with ranged GETs.
 * Runs on a real Temporal dev server and a real rclone `serve http` over the shared
 * Delphes samples (../shared/testdata/delphes, served in place, not copied).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { createPoolWorker } from '../workers/pool-worker.js';
import { workerOptions } from '../workers/worker-options.js';
import { storage } from '../src/storage/index.js';
import { sharedTestData } from '../src/paths.js';
import { CPU_TASK_QUEUE } from '../src/temporal/task-queues.js';
import type { FanOutResult, FileResult } from '../workflows/file-batches-types.js';
import type { PrepareFileFeaturesResult } from '../src/stages/features.js';
import { startHttpServer, type TestHttpServer } from './helpers/http-server.js';
import { startTestTemporal } from './helpers/temporal.js';

const DELPHES_DIR = path.join(path.dirname(sharedTestData), 'delphes');

/** Events passing the isolated-lepton filter per file, from ../shared/testdata/README.md. */
const SELECTED: Record<string, number> = {
  'delphes-qcd.root': 31, 'delphes-ttbar.root': 121, 'delphes-wjets.root': 155,
  'delphes-pu20-qcd.root': 6, 'delphes-pu20-ttbar.root': 66, 'delphes-pu20-wjets.root': 79,
};

let server: TestHttpServer;
let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
let out: string;

before(async () => {
  out = mkdtempSync(path.join(os.tmpdir(), 'hepflow-http-wf-'));
  server = await startHttpServer('rclone', DELPHES_DIR);
  env = await startTestTemporal();
  worker = await createPoolWorker(env.nativeConnection, 'default', workerOptions('cpu', ['--max-activities', '2']));
  running = worker.run();
});

after(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
  await server?.stop();
  rmSync(out, { recursive: true, force: true });
});

const features = (workflowId: string): Promise<FanOutResult> =>
  env.client.workflow.execute('featuresWorkflow', {
    taskQueue: CPU_TASK_QUEUE,
    workflowId,
    args: [{ inputUri: server.url, outputUri: pathToFileURL(path.join(out, 'features')).href, labels: { from: 'class', className: 'ttbar' } }],
  });

test('featuresWorkflow over an http:// directory: every file listed and read; a rerun reuses every part', async () => {
  const first = await features('features-http');
  const files = readdirSync(DELPHES_DIR).filter((f) => f.endsWith('.root'));
  assert.deepEqual([first.totals.ok, first.totals.failed], [files.length, 0]);
  const manifest = await storage().readJson<{ files: FileResult<PrepareFileFeaturesResult>[] }>(first.manifestUri);
  assert.deepEqual(manifest.files.map((f) => f.file.uri).sort(), files.map((f) => `${server.url}${f}`).sort());
  for (const f of manifest.files) {
    assert.ok(f.status === 'ok', `${f.file.uri}: ${f.status === 'failed' ? f.error : ''}`);
    assert.equal(f.outcome.counters.withIsolatedLepton, SELECTED[path.basename(f.file.uri)], f.file.uri);
  }
  // The parts are content-addressed by the server's identity of each file.
  const again = await features('features-http-again');
  assert.deepEqual(again.totals.counters, first.totals.counters);
  const rerun = await storage().readJson<{ files: FileResult<PrepareFileFeaturesResult>[] }>(again.manifestUri);
  for (const f of rerun.files) assert.ok(f.status === 'ok' && f.outcome.reused, `${f.file.uri} reused`);
});
