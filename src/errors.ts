/**
 * Input that cannot be processed as given (a bad argument, a file without the labels it
 * needs, ...): retrying cannot help, so activities fail non-retryably with it.
 */
export class InvalidInputError extends Error {
  override name = 'InvalidInput';
}
