/**
 * Test-set evaluation of a trained model: loads the tfjs artifacts that training wrote,
 * predicts every row of a RowSource (no split: this is the held-out test set), and
 * writes the metrics as JSON plus a ROC plot as SVG.
 */
import * as tf from '@tensorflow/tfjs';
import type { HlfScaler, ParticleScaler } from '../dataset/schema.js';
import { allRowBatches, type BatchOptions, type PaddingMode, type RowSource, validateParticleScaler, validateScaler } from './data.js';
import { classificationReport, rocSvg, type ClassificationReport } from './metrics.js';
import type { ModelKind } from './models.js';
// Registers the fused GRU layer class, which saved sequence models refer to by name.
import './gru/index.js';
import { predictRows, type ArtifactSink } from './train.js';

const fromUtf8 = new TextDecoder();
const utf8 = new TextEncoder();

/** Loads a LayersModel from the model.json + weights.bin pair that training writes. */
export async function loadModel(modelJson: Uint8Array, weights: Uint8Array, where = 'model.json'): Promise<tf.LayersModel> {
  let json: { modelTopology?: object; weightsManifest?: { weights: tf.io.WeightsManifestEntry[] }[] };
  try {
    json = JSON.parse(fromUtf8.decode(modelJson));
  } catch (err) {
    throw new Error(`${where}: not JSON (${(err as Error).message})`);
  }
  if (json.modelTopology === undefined || !Array.isArray(json.weightsManifest)) {
    throw new Error(`${where}: not a tfjs layers model (needs modelTopology and weightsManifest)`);
  }
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData }));
}

export interface EvaluateOptions {
  readonly kind: ModelKind;
  readonly maxLen: number;
  readonly scaler: HlfScaler;
  /** The particle-scaler.json saved with a sequence model; must be the one it was trained with. */
  readonly particleScaler?: ParticleScaler;
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
  model: tf.LayersModel, source: RowSource, o: EvaluateOptions, sink?: ArtifactSink,
): Promise<ClassificationReport & { datasetId: string; seconds: number }> {
  validateScaler(o.scaler, `evaluation of ${source.id}`);
  const t0 = performance.now();
  if (o.particleScaler !== undefined) validateParticleScaler(o.particleScaler, `evaluation of ${source.id}: particle scaler`);
  const bo: BatchOptions = {
    kind: o.kind, maxLen: o.maxLen, scaler: o.scaler, padding: o.padding, nClasses: o.classNames.length,
    ...(o.particleScaler !== undefined ? { particleScaler: o.particleScaler } : {}),
  };
  const { probs, labels } = await predictRows(model, allRowBatches(source, o.batchSize ?? 512), bo, `dataset ${source.id}`);
  if (labels.length === 0) throw new Error(`dataset ${source.id}: no rows to evaluate`);
  const report = { ...classificationReport(probs, labels, o.classNames), datasetId: source.id, seconds: (performance.now() - t0) / 1000 };
  if (sink) {
    await sink.put('evaluation.json', utf8.encode(JSON.stringify(report)));
    await sink.put('roc.svg', utf8.encode(rocSvg(report, o.title ?? `ROC, ${o.kind} classifier, ${source.id}`)));
  }
  return report;
}
