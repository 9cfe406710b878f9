/**
 * What the tuning workflow tests share: a dev server with this process's CPU worker, a
 * tiny HLF dataset on local disk, small studies over it, and a study's finished
 * trial-rungs as stored. "Not trained again" is read from storage: a trial-rung's
 * record is written once, when it finishes, so its ETag would change if it were.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createPoolWorker } from '../../workers/pool-worker.js';
import { workerOptions } from '../../workers/worker-options.js';
import { storage } from '../../src/storage/index.js';
import { gridFiles } from '../../src/contract/run-layout.js';
import type { TuneInput } from '../../workflows/tune.js';
import { buildPhysicsDataset } from './physics-data.js';
import { startTestTemporal } from './temporal.js';

export interface TuneHarness {
  readonly env: TestWorkflowEnvironment;
  /** A study of `trials` trials over rungs of 1 and 2 epochs (eta 2), writing under `name`. */
  study(name: string, trials: number, extra?: Partial<TuneInput>): TuneInput;
  stop(): Promise<void>;
}

export async function startTuneHarness(): Promise<TuneHarness> {
  const dir = await mkdtemp(path.join(tmpdir(), 'hepflow-tune-wf-'));
  const ds = await buildPhysicsDataset({ dir, selectedPerClass: 200, seed: 4 });
  const datasetUri = pathToFileURL(path.dirname(ds.trainPath)).href;
  const env = await startTestTemporal();
  const worker = await createPoolWorker(
    env.nativeConnection,
    'default',
    workerOptions('cpu', ['--max-activities', '2']),
  );
  const running = worker.run();
  return {
    env,
    study: (name, trials, extra = {}) => ({
      name: 'hlf',
      datasetUri,
      outputUri: pathToFileURL(path.join(dir, name)).href,
      spec: { kind: 'hlf', training: { backend: 'wasm', shuffleBuffer: 200 } },
      tune: {
        method: 'asha',
        trials,
        maxEpochs: 2,
        eta: 2,
        seed: 2,
        space: {
          learningRate: { type: 'loguniform', min: 3e-4, max: 3e-2 },
          hiddenUnits: { type: 'int', min: 8, max: 40 },
          batchSize: { type: 'choice', values: [32, 64] },
        },
      },
      pointsInFlight: 2,
      ...extra,
    }),
    async stop() {
      worker.shutdown();
      await running;
      await env.teardown();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The study's finished trial-rungs by file name, with their ETags. */
export async function trialRecords(input: TuneInput): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const o of storage().list(`${gridFiles(input.outputUri).study}/`)) out.set(path.basename(o.uri), o.etag);
  return out;
}

/** Polls until `check` holds: waiting on observable state, never on a time. */
export async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5 * 60_000;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `gave up waiting for ${what}`);
    await sleep(100);
  }
}

/** Every trial-rung of `before` is still there, never rewritten. */
export function assertUnchanged(before: Map<string, string>, after: Map<string, string>): void {
  for (const [name, etag] of before) assert.equal(after.get(name), etag, `${name} was not trained again`);
}
