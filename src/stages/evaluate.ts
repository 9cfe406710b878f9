/**
 * Test-set evaluation of a model directory: per-class ROC and AUC, accuracy and the
 * confusion matrix of the dataset's test split, stored as JSON and as an SVG plot.
 */
import { joinUri, type Storage } from '../storage/index.js';
import { datasetFiles } from '../contract/run-layout.js';
import { initBackend } from '../ml/backend.js';
import { evaluateModel } from '../ml/evaluate.js';
import { bundleFromFiles } from '../ml/model-bundle.js';
import { readModelFiles } from '../ml/training/model-dir.js';
import { createRowSource } from '../ml/parquet-source.js';
import { ObjectArtifactSink } from '../ml/store.js';
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
export async function evaluateOnTestSet(input: EvaluateInput, store: Storage): Promise<EvaluateResult> {
  const files = await readModelFiles(store, input.modelUri);
  await initBackend(files.metadata.config.backend);
  const bundle = await bundleFromFiles(files);
  try {
    const source = await createRowSource(
      { uris: [datasetFiles(input.datasetUri).test], id: `${input.datasetUri} (test)` },
      { store },
    );
    const report = await evaluateModel(
      bundle.model,
      source,
      { ...bundle.input, classNames: bundle.classNames },
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
    bundle.model.dispose();
  }
}
