/**
 * Epoch bookkeeping both schedulers share: an epoch's validation metrics from a
 * classification report, the best-epoch rule, and the line an epoch logs. Pure.
 */
import { selectionScore, type EpochMetrics, type SelectionMetric } from '../../contract/training.js';
import type { ClassificationReport } from '../metrics.js';

/** The best epoch so far and its selection score (higher is better). */
export interface BestEpoch {
  readonly epoch: number;
  readonly score: number;
}

/** The epoch's metrics with the validation split's loss, accuracy and AUCs added. */
export function withValidation(metrics: EpochMetrics, loss: number, report: ClassificationReport): EpochMetrics {
  return {
    ...metrics,
    valLoss: loss,
    valAccuracy: report.accuracy,
    valMeanAuc: report.meanAuc,
    valAuc: Object.fromEntries(report.perClass.map((c) => [c.className, c.auc])),
  };
}

/**
 * The best epoch after `metrics`: the new epoch when its score is strictly better (on
 * ties the earlier epoch stays best, deterministically), or always when nothing was
 * validated, so a run without validation keeps its last epoch. Undefined: `best` stands.
 */
export function newBest(
  best: BestEpoch | null,
  metrics: EpochMetrics,
  metric: SelectionMetric,
  validated: boolean,
): BestEpoch | undefined {
  const score = selectionScore(metrics, metric);
  return best === null || score > best.score || !validated ? { epoch: metrics.epoch, score } : undefined;
}

/** "epoch 3/8: loss 0.41, val loss 0.39, val mean AUC 0.97", as both schedulers log it. */
export function epochSummary(metrics: EpochMetrics, epochs: number): string {
  return (
    `epoch ${metrics.epoch + 1}/${epochs}: loss ${metrics.loss.toFixed(4)}` +
    (metrics.valLoss !== undefined
      ? `, val loss ${metrics.valLoss.toFixed(4)}, val mean AUC ${metrics.valMeanAuc!.toFixed(4)}`
      : '')
  );
}
