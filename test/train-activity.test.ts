/**
 * The grid point's training activity as Temporal runs it (MockActivityEnvironment), on a
 * small dataset of generated physics events: what its heartbeats say, that a retry with
 * more epochs resumes from the checkpoint the last heartbeat names, and how training's
 * failures map to the activity's (training-failure.ts): a verdict fails non-retryably
 * with its type, a cancelled workflow ends the activity cancelled.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { trainActivities } from '../activities/train.js';
import type { TrainHeartbeat } from '../src/contract/progress.js';
import type { TrainRunResult } from '../src/contract/training.js';
import { modelConfig } from '../src/ml/models.js';
import { defaultTrainConfig, type TrainConfig } from '../src/ml/training/config.js';
import { Storage } from '../src/storage/index.js';
import { buildPhysicsDataset } from './helpers/physics-data.js';

let dir: string;
let datasetUri: string;
const activities = trainActivities({ storage: new Storage(), env: {} });
type TrainInput = Parameters<typeof activities.trainModel>[0];
const trainModel = (input: TrainInput): Promise<TrainRunResult> => activities.trainModel(input);
const config = (epochs: number): TrainConfig =>
  defaultTrainConfig(modelConfig('hlf'), { epochs, batchSize: 32, backend: 'wasm', shuffleBuffer: 200 });

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'core-train-activity-'));
  const ds = await buildPhysicsDataset({ dir, selectedPerClass: 150, seed: 5, rowGroupSize: 100 });
  datasetUri = pathToFileURL(path.dirname(ds.trainPath)).href;
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('heartbeats name the point, its epoch and the newest checkpoint; a retry with more epochs resumes from it', {
  timeout: 180_000,
}, async () => {
  const outputUri = pathToFileURL(path.join(dir, 'point')).href;
  const env = new MockActivityEnvironment();
  const beats: TrainHeartbeat[] = [];
  // The periodic heartbeat between training's own reports carries no details.
  env.on('heartbeat', (d: TrainHeartbeat | undefined) => d !== undefined && beats.push(d));
  const input: TrainInput = { runId: 'p0', datasetUri, outputUri, config: config(1), params: { batchSize: 32 } };
  const first: TrainRunResult = await env.run(trainModel, input);
  assert.equal(first.epochsCompleted, 1);
  const last = beats.at(-1)!;
  assert.deepEqual(
    {
      point: last.point,
      params: last.params,
      epoch: last.epoch,
      epochs: last.epochs,
      checkpoint: last.lastCheckpointEpoch,
    },
    { point: 'p0', params: { batchSize: 32 }, epoch: 1, epochs: 1, checkpoint: 0 },
  );
  assert.ok(last.batchesPerEpoch > 1 && Number.isFinite(last.loss), JSON.stringify(last));

  // The next attempt starts from the last heartbeat's details, as Temporal hands them over.
  const retry = new MockActivityEnvironment({ heartbeatDetails: last, attempt: 2 });
  const resumed: TrainRunResult = await retry.run(trainModel, { ...input, config: config(2) });
  assert.equal(resumed.resumedFromEpoch, 1);
  assert.equal(resumed.epochsCompleted, 2);
  assert.ok(resumed.metrics.valMeanAuc! > 0.5, JSON.stringify(resumed.metrics));
});

test('a verdict of training (no training rows) fails the activity non-retryably with its type', {
  timeout: 120_000,
}, async () => {
  const c = config(1);
  const input = {
    runId: 'p1',
    datasetUri,
    outputUri: pathToFileURL(path.join(dir, 'tiny')).href,
    config: { ...c, split: { ...c.split, validationFraction: 0.9999 } },
  };
  await assert.rejects(
    new MockActivityEnvironment().run(trainModel, input),
    (e: unknown) =>
      e instanceof ApplicationFailure &&
      e.nonRetryable &&
      e.type === 'DatasetTooSmall' &&
      /no training rows/.test(e.message),
  );
});

test('cancelling the activity stops training between batches and ends it cancelled', { timeout: 120_000 }, async () => {
  const env = new MockActivityEnvironment();
  env.once('heartbeat', () => env.cancel());
  const input = {
    runId: 'p2',
    datasetUri,
    outputUri: pathToFileURL(path.join(dir, 'cancel')).href,
    config: config(50),
  };
  await assert.rejects(env.run(trainModel, input), (e: unknown) => e instanceof CancelledFailure);
});
