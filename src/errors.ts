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
  return e instanceof RootFileError || e instanceof ObjectNotFoundError || e instanceof PermanentStorageError
    || e instanceof InvalidUriError || e instanceof InvalidInputError;
}
