/**
 * Test-set evaluation of a trained model (loaded through model-bundle.ts): predicts
 * every row of a RowSource (no split: this is the held-out test set), and writes the
 * metrics as JSON plus a ROC plot as SVG.
 */
import type * as tf from '@tensorflow/tfjs';
import type { HlfScaler, ParticleScaler } from '../dataset/scaler.js';
import {
  allRowBatches,
  type BatchOptions,
  type PaddingMode,
  type RowSource,
  validateParticleScaler,
  validateScaler,
} from './data.js';
import { classificationReport, rocSvg, type ClassificationReport } from './metrics.js';
import type { ModelKind } from './models.js';
import { predictRows } from './training/predict.js';
import type { ArtifactSink } from './training/model-dir.js';

const utf8 = new TextEncoder();

export interface EvaluateOptions {
  readonly kind: ModelKind;
  readonly maxLen: number;
  readonly scaler: HlfScaler;
  /** The particle-scaler.json saved with a sequence model; must be the one it was trained with. */
  readonly particleScaler?: ParticleScaler | undefined;
  readonly padding: PaddingMode;
  readonly classNames: readonly string[];
  readonly batchSize?: number;
  /** Title of the ROC plot. */
  readonly title?: string;
}

/**
 * Evaluates `model` on every row of `source`; writes evaluation.json and roc.svg to
 * `sink` when given. Returns the full report (ROC points thinned to 1000 per class).
 */
export async function evaluateModel(
  model: tf.LayersModel,
  source: RowSource,
  o: EvaluateOptions,
  sink?: ArtifactSink,
): Promise<ClassificationReport & { datasetId: string; seconds: number }> {
  validateScaler(o.scaler, `evaluation of ${source.id}`);
  const t0 = performance.now();
  if (o.particleScaler !== undefined)
    validateParticleScaler(o.particleScaler, `evaluation of ${source.id}: particle scaler`);
  const bo: BatchOptions = {
    kind: o.kind,
    maxLen: o.maxLen,
    scaler: o.scaler,
    padding: o.padding,
    nClasses: o.classNames.length,
    particleScaler: o.particleScaler,
  };
  const { probs, labels } = await predictRows(
    model,
    allRowBatches(source, o.batchSize ?? 512),
    bo,
    `dataset ${source.id}`,
  );
  if (labels.length === 0) throw new Error(`dataset ${source.id}: no rows to evaluate`);
  const report = {
    ...classificationReport(probs, labels, o.classNames),
    datasetId: source.id,
    seconds: (performance.now() - t0) / 1000,
  };
  if (sink) {
    await sink.put('evaluation.json', utf8.encode(JSON.stringify(report)));
    await sink.put('roc.svg', utf8.encode(rocSvg(report, o.title ?? `ROC, ${o.kind} classifier, ${source.id}`)));
  }
  return report;
}
