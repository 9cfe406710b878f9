import path from 'node:path';
import { InvalidUriError, normalizeUri } from '../src/storage/index.js';
import { parseInteger, POSITIVE } from '../src/settings.js';
/** Parses a positive integer option, naming the option in the error. */
export function positiveInt(name: string, raw: string | undefined, fallback: number): number {
  return parseInteger(name, raw, fallback, POSITIVE, (m) => new UsageError(m));
}

/** A mistake in how the command was called: printed without a stack trace, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const csv = (raw: string | undefined): string[] => (raw ? raw.split(',').map((s) => s.trim()).filter(Boolean) : []);

/**
 * A storage URI from the command line. A relative path is resolved against this
 * command's directory here, at the edge, so workers (possibly on other machines) only
 * ever see absolute URIs; storage itself refuses relative paths.
 */
export function uriArgument(raw: string): string {
  const absolute = /^[a-z][a-z0-9+.-]*:/i.test(raw) || path.isAbsolute(raw) || raw === '' ? raw : path.resolve(raw) + (raw.endsWith('/') ? '/' : '');
  try {
    return normalizeUri(absolute);
  } catch (e) {
    if (e instanceof InvalidUriError) throw new UsageError(e.message);
    throw e;
  }
}
