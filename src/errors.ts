import { RootFileError } from './root/errors.js';
import { InvalidUriError } from './storage/uri-path.js';
import { isTransientStorageError, ObjectNotFoundError, PermanentStorageError } from './storage/types.js';

/**
 * Input that cannot be processed as given (a bad argument, a file without the labels it
 * needs, ...): retrying cannot help, so activities fail non-retryably with it.
 */
export class InvalidInputError extends Error {
  override name = 'InvalidInput';
}

/**
 * A verdict on the input itself (bad bytes, object gone, access refused, malformed URI,
 * bad input): no retry can change it, so the file is recorded as failed. Never true for
 * anything with a transient storage failure in its cause chain: an input that could not
 * be read right now is not a bad input.
 */
export function isInputVerdict(e: unknown): e is Error {
  if (isTransientStorageError(e)) return false;
  return (
    e instanceof RootFileError ||
    e instanceof ObjectNotFoundError ||
    e instanceof PermanentStorageError ||
    e instanceof InvalidUriError ||
    e instanceof InvalidInputError
  );
}

/**
 * Activity failure types that no retry can fix: the `name` of each domain error class
 * that carries such a verdict (test/contract.test.ts ties each to its class).
 */
export const ErrorTypes = {
  /** Arguments or workflow input that cannot be processed as given (InvalidInputError). */
  invalidInput: 'InvalidInput',
  /** What hepflow's ROOT reader throws for a file it cannot read as asked (src/root/reader/errors.ts). */
  rootFormat: 'RootFormatError',
  unsupportedRootFeature: 'UnsupportedRootFeatureError',
  missingTree: 'MissingTreeError',
  missingBranch: 'MissingBranchError',
  objectNotFound: 'ObjectNotFoundError',
  /** A storage request the server refused for good (e.g. HTTP 403, a file that changed while read). */
  permanentStorage: 'PermanentStorageError',
  invalidUri: 'InvalidUriError',
  /** The loss became NaN or infinite: the same data and seed diverge again. */
  trainingDiverged: 'TrainingDiverged',
  /** A checkpoint that exists but cannot be read (no state, not JSON, wrong shapes). */
  checkpoint: 'CheckpointError',
  /** The dataset cannot support what was asked (e.g. too few events to validate). */
  datasetTooSmall: 'DatasetTooSmall',
} as const;
export type NonRetryableErrorType = (typeof ErrorTypes)[keyof typeof ErrorTypes];
export const NON_RETRYABLE_ERROR_TYPES: readonly NonRetryableErrorType[] = Object.values(ErrorTypes);

/** Training stopped on request (cancellation) between batches; kept free of tfjs so a thread's parent can test for it. */
export class AbortError extends Error {
  override readonly name = 'AbortError';
}

/**
 * Training failures that the same data, configuration and seed would repeat: the
 * activity fails non-retryably with the error's name as its type (ErrorTypes above).
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
