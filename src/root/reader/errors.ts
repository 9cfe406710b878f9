/**
 * Errors of hepflow's ROOT reader. Every error names the file (its URI) and the cause,
 * so a failed activity says which object in the bucket is bad and why. None of them is
 * worth retrying: the bytes will not change, so all extend the project's RootFileError,
 * which activities fail non-retryably with.
 */
import { RootFileError } from '../errors.js';

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
