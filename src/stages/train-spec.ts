/**
 * Training configurations as users write them (a model kind and what differs from the
 * reference defaults), resolved against a dataset's classes into a checked TrainConfig.
 */
import { MODEL_KINDS, modelConfig, type ModelConfig, type ModelKind } from '../ml/models.js';
import { defaultTrainConfig, validateTrainConfig, type TrainConfig } from '../ml/training/config.js';
import { InvalidInputError } from '../errors.js';

/**
 * A training configuration as users write it (CLI flags, `temporal workflow start`
 * JSON): the model kind plus only what differs from the reference defaults.
 */
export interface TrainSpec {
  /** hlf, particle-sequence (alias gru) or inclusive. */
  readonly kind: ModelKind | 'gru';
  readonly model?: Partial<Omit<ModelConfig, 'kind'>>;
  readonly training?: Partial<Omit<TrainConfig, 'model'>>;
}

/**
 * The spec over the reference defaults, for a dataset of these classes (by label
 * index): the output layer has one unit per class and the reports name them.
 */
export function resolveTrainSpec(spec: TrainSpec, classes: readonly string[]): TrainConfig {
  const kind = spec.kind === 'gru' ? 'particle-sequence' : spec.kind;
  if (!(MODEL_KINDS as readonly string[]).includes(kind)) {
    throw new InvalidInputError(`unknown model kind '${String(spec.kind)}' (known: ${MODEL_KINDS.join(', ')}, gru)`);
  }
  const config = defaultTrainConfig(modelConfig(kind, { ...spec.model, nClasses: classes.length }), {
    ...spec.training,
    classNames: [...classes],
  });
  try {
    validateTrainConfig(config);
  } catch (e) {
    throw new InvalidInputError((e as Error).message, { cause: e });
  }
  return config;
}
