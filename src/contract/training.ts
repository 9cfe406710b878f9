/**
 * What training promises the workflows that schedule it: the metrics that choose the
 * best epoch and the best grid point, one epoch's record, and the small result a run
 * reports. Pure and import-free: workflows import it as a value, src/ml builds on it.
 */

/**
 * The validation metrics that choose what is best: the epoch a training run keeps
 * (TrainConfig.selectionMetric, default valLoss) and the point a grid search keeps (its
 * input's selectionMetric, default valMeanAuc). Named as the metrics of a run's result are.
 */
export const SELECTION_METRICS = ['valLoss', 'valMeanAuc', 'valAccuracy'] as const;
export type SelectionMetric = (typeof SELECTION_METRICS)[number];

/** Higher is better for every selection score, so a loss is negated; a missing metric scores worst. */
export function selectionScore(
  metrics: Readonly<Partial<Record<SelectionMetric, number>>>,
  metric: SelectionMetric,
): number {
  const v = metrics[metric];
  return metric === 'valLoss' ? -(v ?? Infinity) : (v ?? -Infinity);
}

/** One finished epoch: the training split's mean loss and, with a validation split, its metrics. */
export interface EpochMetrics {
  readonly epoch: number;
  readonly loss: number;
  readonly samples: number;
  readonly seconds: number;
  readonly samplesPerSecond: number;
  readonly valLoss?: number;
  readonly valAccuracy?: number;
  readonly valMeanAuc?: number;
  readonly valAuc?: Record<string, number>;
}

/** What one training run over a stored dataset reports; small by design: it travels through workflow histories. */
export interface TrainRunResult {
  readonly runId: string;
  readonly modelUri: string;
  /** Validation metrics of the best epoch: valLoss, valMeanAuc, valAccuracy. */
  readonly metrics: Record<string, number>;
  readonly backend: string;
  readonly epochsCompleted: number;
  readonly resumedFromEpoch: number;
  readonly samplesPerSecond: number;
  readonly trainSeconds: number;
}

/** The best epoch's validation metrics, as a run's result names them. */
export function bestEpochMetrics(history: readonly EpochMetrics[], bestEpoch: number): Record<string, number> {
  const best = history.find((h) => h.epoch === bestEpoch);
  const metrics: Record<string, number> = {};
  for (const m of SELECTION_METRICS) {
    const v = best?.[m];
    if (v !== undefined) metrics[m] = v;
  }
  return metrics;
}
