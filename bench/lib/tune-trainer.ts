/**
 * The training every tuner of bench/tuning.ts drives, so they differ only in what they
 * decide: "train trial X (these values) to E epochs", resuming from the trial's
 * checkpoint as the tune workflow's trial-rungs do, answering the validation AUC of the
 * best epoch so far and the CPU seconds the call took (process.cpuUsage counts the
 * training thread too). Run as a script (`--serve <dataset dir> <scratch dir>`), it
 * answers one JSON line per request line on stdin: how Optuna drives it
 * (test/python/optuna_tune.py).
 */
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { modelConfig } from '../../src/ml/models.js';
import { defaultTrainConfig } from '../../src/ml/training/config.js';
import { applyGridPoint } from '../../src/ml/grid.js';
import { trainRun } from '../../src/stages/train.js';
import { storage } from '../../src/storage/index.js';
import { EVENT_CLASSES } from '../../src/physics/schema.js';
import type { TrialParams } from '../../src/contract/tuning.js';
import { gridParamsOf } from '../../activities/tune.js';

export interface TrainRequest {
  readonly trial: string;
  readonly params: TrialParams;
  readonly epochs: number;
}

export interface TrainAnswer {
  readonly valMeanAuc: number;
  readonly cpuSeconds: number;
}

/** The HLF model at the reference defaults, with the trial's values; wasm, the backend a 2-core CI box has. */
const base = defaultTrainConfig(modelConfig('hlf'), {
  backend: 'wasm',
  selectionMetric: 'valMeanAuc',
  classNames: [...EVENT_CLASSES],
});

export function trialTrainer(datasetDir: string, scratch: string): (r: TrainRequest) => Promise<TrainAnswer> {
  const datasetUri = pathToFileURL(datasetDir).href;
  return async (r) => {
    const params = gridParamsOf(r.params, base);
    const config = { ...applyGridPoint(base, { id: r.trial, params }), epochs: r.epochs };
    const c0 = process.cpuUsage();
    const result = await trainRun(
      { runId: r.trial, datasetUri, outputUri: pathToFileURL(path.join(scratch, r.trial)).href, config },
      { log: () => undefined, store: storage() },
    );
    const c = process.cpuUsage(c0);
    return { valMeanAuc: result.metrics.valMeanAuc ?? Number.NaN, cpuSeconds: (c.user + c.system) / 1e6 };
  };
}

if (process.argv[2] === '--serve') {
  const train = trialTrainer(path.resolve(process.argv[3]!), path.resolve(process.argv[4]!));
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() === '') continue;
    process.stdout.write(`${JSON.stringify(await train(JSON.parse(line) as TrainRequest))}\n`);
  }
}
