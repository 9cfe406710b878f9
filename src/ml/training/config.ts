/**
 * A training run's settings (TrainConfig), their defaults and validation, and the
 * progress a run reports while it trains. Shared by both schedulers: single-process
 * training (../train.ts) and distributed rounds (../distributed/).
 */
import { InvalidInputError } from '../../errors.js';
import { EVENT_CLASSES } from '../../physics/schema.js';
import { SELECTION_METRICS, type EpochMetrics, type SelectionMetric } from '../../contract/training.js';
import { parseBackendRequest, type BackendRequest } from '../backend.js';
import type { PaddingMode, SplitConfig } from '../data.js';
import { validateModelConfig, type ModelConfig } from '../models.js';

export interface TrainConfig {
  readonly model: ModelConfig;
  readonly batchSize: number;
  readonly epochs: number;
  readonly split: SplitConfig;
  /** Rows in the bounded shuffle buffer. */
  readonly shuffleBuffer: number;
  /** Seeds the per-epoch shuffle (the split has its own seed). */
  readonly seed: number;
  readonly padding: PaddingMode;
  readonly backend: BackendRequest;
  readonly classNames: readonly string[];
  readonly selectionMetric: SelectionMetric;
}

/** Defaults to the paper's three classes; a pipeline run passes its dataset's classes. */
export function defaultTrainConfig(
  model: ModelConfig,
  overrides: Partial<Omit<TrainConfig, 'model'>> = {},
): TrainConfig {
  return {
    model,
    batchSize: 128,
    epochs: 5,
    split: { validationFraction: 0.1, seed: 42 },
    shuffleBuffer: 10_000,
    seed: 1,
    padding: 'longest',
    backend: 'auto',
    classNames: [...EVENT_CLASSES],
    selectionMetric: 'valLoss',
    ...overrides,
  };
}

export function validateTrainConfig(c: TrainConfig): void {
  validateModelConfig(c.model);
  const bad = (f: string, why: string): never => {
    throw new InvalidInputError(`invalid training config: ${f} ${why}`);
  };
  for (const f of ['batchSize', 'epochs', 'shuffleBuffer'] as const) {
    if (!(Number.isInteger(c[f]) && c[f] > 0)) bad(f, `must be a positive integer, got ${JSON.stringify(c[f])}`);
  }
  if (!Number.isInteger(c.seed)) bad('seed', `must be an integer, got ${JSON.stringify(c.seed)}`);
  const vf = c.split.validationFraction;
  if (!(typeof vf === 'number' && vf >= 0 && vf < 1)) bad('split.validationFraction', `must be in [0, 1), got ${vf}`);
  if (c.classNames.length !== c.model.nClasses)
    bad('classNames', `has ${c.classNames.length} names for ${c.model.nClasses} classes`);
  if (!['fixed', 'longest'].includes(c.padding)) bad('padding', `must be 'fixed' or 'longest', got '${c.padding}'`);
  if (!SELECTION_METRICS.includes(c.selectionMetric))
    bad('selectionMetric', `must be one of ${SELECTION_METRICS.join(', ')}, got '${c.selectionMetric}'`);
  parseBackendRequest(c.backend);
}

/** What the caller sees while training runs (drives activity heartbeats). */
export interface TrainProgress {
  readonly type: 'batch' | 'epoch';
  /** 0-based epoch being trained (type 'batch') or just finished (type 'epoch'). */
  readonly epoch: number;
  readonly epochs: number;
  readonly batch: number;
  readonly loss: number;
  readonly samplesSeen: number;
  readonly samplesPerSecond: number;
  readonly validation?: EpochMetrics;
}
