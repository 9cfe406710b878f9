/**
 * Whole-number settings from command-line flags and environment variables, checked at the
 * edge with a message that names the setting and the text it was given.
 */

export interface IntegerRange {
  readonly min: number;
  readonly max?: number;
  /** The range in words, for the message: "a positive integer". */
  readonly what: string;
}

export const POSITIVE: IntegerRange = { min: 1, what: 'a positive integer' };
export const NON_NEGATIVE: IntegerRange = { min: 0, what: 'a non-negative integer' };
export const TCP_PORT: IntegerRange = { min: 1, max: 65535, what: 'a TCP port (1-65535)' };

/**
 * `raw` as an integer within `range`, or `fallback` when the setting is absent. Throws
 * `toError(message)` otherwise (a CLI passes its usage error, so the mistake prints
 * without a stack trace).
 */
export function parseInteger<F extends number | undefined>(
  name: string,
  raw: string | undefined,
  fallback: F,
  range: IntegerRange = POSITIVE,
  toError: (message: string) => Error = (m) => new Error(m),
): number | F {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < range.min || n > (range.max ?? Number.MAX_SAFE_INTEGER)) {
    throw toError(`${name} must be ${range.what}, got '${raw}'`);
  }
  return n;
}
