/**
 * URI string arithmetic with no Node imports, so workflow code (bundled into Temporal's
 * deterministic sandbox) builds the same URIs as activities; parsing and formatting,
 * which need node:url and node:path, stay in uri.ts.
 */

export class InvalidUriError extends Error {
  constructor(
    readonly uri: string,
    reason: string,
  ) {
    super(`invalid storage URI '${uri}': ${reason}`);
    this.name = 'InvalidUriError';
  }
}

/** The URI without trailing slashes: a prefix as `joinUri` extends it. */
export const trimTrailingSlashes = (uri: string): string => uri.replace(/\/+$/, '');

/** Joins a relative key onto a prefix URI, with exactly one slash between them. */
export function joinUri(prefix: string, ...parts: string[]): string {
  let out = trimTrailingSlashes(prefix);
  for (const p of parts) out += '/' + p.replace(/^\/+/, '');
  return out;
}

/** The prefix URI with exactly one trailing slash: "everything under it" to a lister. */
export const asPrefix = (uri: string): string => `${trimTrailingSlashes(uri)}/`;

/** The last path component, for display and for naming derived outputs. */
export function baseName(uri: string): string {
  const trimmed = trimTrailingSlashes(uri);
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}
