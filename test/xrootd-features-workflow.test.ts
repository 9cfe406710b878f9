/**
 * featuresWorkflow with its samples on a real XRootD data server (root:// directories,
 * one per process): the fan-out lists them with kXR_dirlist, every activity reads its
 * file with kXR_read/kXR_readv, and the features equal those of the same files read
 * from local disk.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { sharedTestData, REAL_DELPHES } from './helpers/testdata.js';
import { CPU_TASK_QUEUE } from '../src/contract/task-queues.js';
import type { FeaturesResult } from '../workflows/features.js';
import { startTestTemporal } from './helpers/temporal.js';
import { startPoolWorker, type TestWorker } from './helpers/test-worker.js';
import { startXrootdServer, xrootdMissing, type XrootdServer } from './helpers/xrootd-server.js';

const DELPHES_DIR = path.join(path.dirname(sharedTestData), 'delphes');
const PROCESSES = ['qcd', 'ttbar', 'wjets'] as const;
const skip = xrootdMissing();

let server: XrootdServer;
let env: TestWorkflowEnvironment;
let worker: TestWorker;
let out: string;

before(async () => {
  if (skip) return;
  out = mkdtempSync(path.join(os.tmpdir(), 'hepflow-xrootd-wf-'));
  chmodSync(out, 0o755);
  for (const p of PROCESSES) {
    mkdirSync(path.join(out, 'served', 'store', p), { recursive: true });
    symlinkSync(path.join(DELPHES_DIR, `delphes-${p}.root`), path.join(out, 'served', 'store', p, `delphes-${p}.root`));
  }
  server = await startXrootdServer(path.join(out, 'served'), '/store');
  env = await startTestTemporal();
  worker = await startPoolWorker(env, 'cpu', ['--max-activities', '2']);
});

after(async () => {
  await worker?.stop();
  await env?.teardown();
  await server?.stop();
  if (out) rmSync(out, { recursive: true, force: true });
});

const features = (workflowId: string, dirOf: (p: string) => string): Promise<FeaturesResult> =>
  env.client.workflow.execute('featuresWorkflow', {
    taskQueue: CPU_TASK_QUEUE,
    workflowId,
    args: [
      {
        samples: PROCESSES.map((p) => ({ name: p, uri: dirOf(p) })),
        outputUri: pathToFileURL(path.join(out, workflowId)).href,
      },
    ],
  });

test('featuresWorkflow over root:// directories equals the same files read locally', { skip }, async () => {
  const remote = await features('features-root', (p) => `${server.url}/store/${p}/`);
  const local = await features('features-local', (p) => `${pathToFileURL(path.join(out, 'served', 'store', p)).href}/`);
  assert.deepEqual([remote.totals.ok, remote.totals.failed], [3, 0]);
  assert.deepEqual(
    remote.perSample.map((s) => s.counters.rows),
    PROCESSES.map((p) => REAL_DELPHES[p].selected),
  );
  assert.deepEqual(remote.totals.counters, local.totals.counters);
  assert.deepEqual(
    remote.perSample.map((s) => s.counters),
    local.perSample.map((s) => s.counters),
  );
});
