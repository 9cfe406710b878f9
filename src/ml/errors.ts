/** Kept apart from train.ts so the parent side of the worker need not load tfjs. */
export class AbortError extends Error {
  override readonly name = 'AbortError';
}

/**
 * Training failures that the same data, configuration and seed would repeat: the
 * activity fails non-retryably with the error's name as its type (see
 * src/contract/policies.ts ErrorTypes).
 */
export class TrainingDivergedError extends Error {
  override readonly name = 'TrainingDiverged';
}

/** A checkpoint that exists but cannot be used (incomplete, not JSON, shapes that do not fit). */
export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
}

/** The dataset cannot support the run (no training rows, a validation split that cannot score). */
export class DatasetTooSmallError extends Error {
  override readonly name = 'DatasetTooSmall';
}

/**
 * Bumped whenever a change to models.ts, train.ts or data.ts makes a checkpoint of the
 * previous code mean something else (layer layout, weight order, optimizer state,
 * row order): a checkpoint keyed by an older version is ignored, never resumed.
 */
export const MODEL_CODE_VERSION = 2;
