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
