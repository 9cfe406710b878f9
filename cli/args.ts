import path from 'node:path';
import { InvalidArgumentError } from 'commander';
import { InvalidUriError, normalizeUri } from '../src/storage/uri.js';
import type { SampleInput } from '../src/contract/samples.js';
import { NON_NEGATIVE, parseInteger, POSITIVE, type IntegerRange } from '../src/settings.js';

// Option parsers for the command line: each turns a flag's text into its typed value or
// throws commander's InvalidArgumentError, which the parser reports naming the option
// (exit code 2) before any command module is loaded.

/** A mistake in how the command was called: printed without a stack trace, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

const integer =
  (range: IntegerRange) =>
  (raw: string): number => {
    const invalid = () => new InvalidArgumentError(`expected ${range.what}.`);
    if (raw.trim() === '') throw invalid();
    return parseInteger('', raw, 0, range, invalid);
  };

const number =
  (test: (n: number) => boolean, what: string) =>
  (raw: string): number => {
    const n = raw.trim() === '' ? NaN : Number(raw);
    if (!test(n)) throw new InvalidArgumentError(`expected ${what}.`);
    return n;
  };

export const positiveInteger = integer(POSITIVE);
export const nonNegativeInteger = integer(NON_NEGATIVE);
/** A port to listen on: 0 asks the system for a free one. */
export const listenPort = integer({ min: 0, max: 65535, what: 'a TCP port (0-65535; 0: any free one)' });
export const positiveNumber = number((n) => Number.isFinite(n) && n > 0, 'a positive number');
export const nonNegativeNumber = number((n) => Number.isFinite(n) && n >= 0, 'a non-negative number');

/** A comma-separated list; empty items are dropped. */
export const csv = (raw: string): string[] =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/**
 * A storage URI from the command line. A relative path is resolved against this
 * command's directory here, at the edge, so workers (possibly on other machines) only
 * ever see absolute URIs; storage itself refuses relative paths.
 */
export function uriArgument(raw: string): string {
  const absolute =
    /^[a-z][a-z0-9+.-]*:/i.test(raw) || path.isAbsolute(raw) || raw === ''
      ? raw
      : path.resolve(raw) + (raw.endsWith('/') ? '/' : '');
  try {
    return normalizeUri(absolute);
  } catch (e) {
    if (e instanceof InvalidUriError) throw new InvalidArgumentError(e.message);
    throw e;
  }
}

/**
 * `--sample name=uri[,uri...]`, repeated: one sample per class, in label order. Local
 * paths become file:// URIs; a directory keeps its trailing slash.
 */
export function sampleArgument(arg: string, previous: SampleInput[] = []): SampleInput[] {
  const eq = arg.indexOf('=');
  if (eq < 1 || eq === arg.length - 1) throw new InvalidArgumentError('expected name=uri[,uri...].');
  const uris = arg
    .slice(eq + 1)
    .split(',')
    .filter(Boolean)
    .map(uriArgument);
  const name = arg.slice(0, eq);
  return [...previous, uris.length === 1 ? { name, uri: uris[0]! } : { name, uris }];
}
