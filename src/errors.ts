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
  /** What hepflow's ROOT reader throws for a file it cannot read as asked (below). */
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

// The ROOT reader's errors (src/root/reader). Every one names the file (its URI) and the
// cause, so a failed activity says which object in the bucket is bad and why. None is
// worth retrying: the bytes will not change.

/**
 * A ROOT file that cannot be read as asked (corrupt, truncated, not ROOT, tree or
 * branch missing). Retrying cannot help, so activities fail non-retryably with it.
 */
export class RootFileError extends Error {
  constructor(
    readonly uri: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${uri}: ${reason}`, options);
    this.name = 'RootFileError';
  }
}

/** Base class: something about this ROOT file stops the read. */
export class RootReaderError extends RootFileError {
  constructor(uri: string, reason: string, options?: { cause?: unknown }) {
    super(uri, reason, options);
    this.name = 'RootReaderError';
  }
}

/** The bytes are not a ROOT file, or are corrupt or truncated. */
export class RootFormatError extends RootReaderError {
  constructor(uri: string, reason: string, options?: { cause?: unknown }) {
    super(uri, reason, options);
    this.name = 'RootFormatError';
  }
}

/** A well-formed file uses something this reader does not implement. */
export class UnsupportedRootFeatureError extends RootReaderError {
  constructor(uri: string, reason: string) {
    super(uri, reason);
    this.name = 'UnsupportedRootFeatureError';
  }
}

/** The tree or one of the requested branches is not in the file. */
export class MissingBranchError extends RootReaderError {
  constructor(
    uri: string,
    readonly treeName: string,
    readonly branchName: string,
  ) {
    super(uri, `tree '${treeName}' has no branch '${branchName}'`);
    this.name = 'MissingBranchError';
  }
}

export class MissingTreeError extends RootReaderError {
  constructor(
    uri: string,
    readonly treeName: string,
    available: readonly string[],
  ) {
    super(uri, `no TTree '${treeName}' in the top directory (keys: ${available.join(', ') || 'none'})`);
    this.name = 'MissingTreeError';
  }
}

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
