import { storage as defaultStorage, joinUri, ObjectNotFoundError, type Storage } from '../storage/index.js';
import type { HlfScaler, ParticleScaler } from '../dataset/schema.js';
import { datasetFiles } from '../dataset/layout.js';
import { initBackend } from '../ml/backend.js';
import { evaluateModel, loadModel } from '../ml/evaluate.js';
import { createRowSource } from '../ml/parquet-source.js';
import { ObjectArtifactSink } from '../ml/store.js';
import type { TrainConfig } from '../ml/train.js';
import { InvalidInputError } from '../errors.js';

export interface EvaluateInput {
  /** A model directory written by training (model.json, weights.bin, scaler.json, metadata.json, particle-scaler.json for sequence models). */
  readonly modelUri: string;
  readonly datasetUri: string;
  /** Where evaluation.json and roc.svg go. */
  readonly outputUri: string;
}

export interface EvaluateResult {
  readonly reportUri: string;
  readonly plotUri: string;
  readonly samples: number;
  readonly accuracy: number;
  readonly auc: Record<string, number>;
  readonly confusion: number[][];
}

/**
 * The paper's evaluation on the test split: per-class one-vs-rest ROC and AUC,
 * accuracy and the confusion matrix, stored as JSON and as an SVG plot.
 */
export async function evaluateOnTestSet(input: EvaluateInput, store: Storage = defaultStorage()): Promise<EvaluateResult> {
  const [modelJson, weights, scaler, metadata] = await Promise.all([
    store.readAll(joinUri(input.modelUri, 'model.json')),
    store.readAll(joinUri(input.modelUri, 'weights.bin')),
    store.readJson<HlfScaler>(joinUri(input.modelUri, 'scaler.json')),
    store.readJson<{ config: TrainConfig; particleScaling?: 'standard' | 'none' }>(joinUri(input.modelUri, 'metadata.json')),
  ]);
  const { config } = metadata;
  // The model's own scaler, not the dataset's: evaluation must transform as training did.
  const particleScaler = metadata.particleScaling === 'standard'
    ? await store.readJson<ParticleScaler>(joinUri(input.modelUri, 'particle-scaler.json')).catch((e) => {
      if (e instanceof ObjectNotFoundError) throw new InvalidInputError(`model ${input.modelUri} was trained on standardised particles but has no particle-scaler.json`);
      throw e;
    })
    : undefined;
  await initBackend(config.backend);
  const model = await loadModel(modelJson, weights, joinUri(input.modelUri, 'model.json'));
  try {
    const source = await createRowSource({ uris: [datasetFiles(input.datasetUri).test], id: `${input.datasetUri} (test)` });
    const report = await evaluateModel(
      model,
      source,
      {
        kind: config.model.kind, maxLen: config.model.maxLen, scaler, padding: config.padding, classNames: config.classNames,
        ...(particleScaler !== undefined ? { particleScaler } : {}),
      },
      new ObjectArtifactSink(input.outputUri, store),
    ).catch((e: Error) => {
      throw /no rows to evaluate/.test(e.message) ? new InvalidInputError(e.message, { cause: e }) : e;
    });
    return {
      reportUri: joinUri(input.outputUri, 'evaluation.json'),
      plotUri: joinUri(input.outputUri, 'roc.svg'),
      samples: report.samples,
      accuracy: report.accuracy,
      auc: Object.fromEntries(report.perClass.map((c) => [c.className, c.auc])),
      confusion: report.confusion,
    };
  } finally {
    model.dispose();
  }
}
